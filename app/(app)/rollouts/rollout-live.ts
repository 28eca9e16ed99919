"use client";
// Rollout events to query invalidations. The server coalesces them per room,
// so a busy rollout causes a few refetches a second at most; after a
// reconnect the live provider refetches everything anyway.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { useLive, useLiveRoom } from "@/app/_live/live-provider.tsx";

/** The rollouts list: every socket is in the fleet room, which hears `rollouts.changed`. */
export function useRolloutListLive() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { socket } = useLive();
  useEffect(() => {
    if (!socket) return;
    const onChanged = () => void queryClient.invalidateQueries(trpc.rollouts.list.pathFilter());
    socket.on("rollouts.changed", onChanged);
    return () => {
      socket.off("rollouts.changed", onChanged);
    };
  }, [socket, queryClient, trpc]);
}

/** One rollout's page: joins `rollout:{id}` and refetches the rollout and its devices on `rollout.changed`. */
export function useRolloutLive(rolloutId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { socket } = useLive();
  useLiveRoom(`rollout:${rolloutId}`);
  useEffect(() => {
    if (!socket) return;
    const onChanged = (event: { rolloutId?: string } | undefined) => {
      if (event?.rolloutId && event.rolloutId !== rolloutId) return;
      void queryClient.invalidateQueries(trpc.rollouts.get.queryFilter({ id: rolloutId }));
      void queryClient.invalidateQueries(trpc.rollouts.devices.pathFilter());
      void queryClient.invalidateQueries(trpc.rollouts.list.pathFilter(), { cancelRefetch: false });
    };
    socket.on("rollout.changed", onChanged);
    return () => {
      socket.off("rollout.changed", onChanged);
    };
  }, [socket, queryClient, trpc, rolloutId]);
}
