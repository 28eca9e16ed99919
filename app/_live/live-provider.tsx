"use client";
// One socket per tab. Live events say what changed; this turns them into
// TanStack Query invalidations. After a reconnect everything is refetched,
// since events sent while disconnected are gone.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { io, type Socket } from "socket.io-client";
import type { ConnectionState } from "@/components/connection-indicator.tsx";

type LiveContextValue = { state: ConnectionState; socket: Socket | null };
const LiveContext = createContext<LiveContextValue>({ state: "connecting", socket: null });

export function useLive() {
  return useContext(LiveContext);
}

/** Joins a room (e.g. `device:abc`) while the calling component is mounted. */
export function useLiveRoom(room: string | null) {
  const { socket, state } = useLive();
  useEffect(() => {
    if (!socket || !room || state !== "live") return;
    socket.emit("subscribe", room);
    return () => {
      socket.emit("unsubscribe", room);
    };
  }, [socket, room, state]);
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<ConnectionState>("connecting");
  const [socket, setSocket] = useState<Socket | null>(null);
  const everConnected = useRef(false);

  useEffect(() => {
    const s = io({ path: "/socket.io", withCredentials: true, reconnectionDelayMax: 10_000 });
    setSocket(s);
    s.on("connect", () => {
      setState("live");
      if (everConnected.current) void queryClient.invalidateQueries();
      everConnected.current = true;
    });
    s.on("disconnect", () => setState("reconnecting"));
    s.on("connect_error", (err) => setState(err.message === "unauthorized" ? "signed-out" : "reconnecting"));
    s.on("devices.changed", (event: { reason?: string; deviceIds?: string[] }) => {
      // Shadow-only changes touch device pages; registry, presence and firmware changes touch the fleet view too.
      void queryClient.invalidateQueries({ queryKey: [["shadow"]] });
      if (event?.reason !== "shadow") void queryClient.invalidateQueries({ queryKey: [["devices"]] });
    });
    s.on("device.changed", () => {
      void queryClient.invalidateQueries({ queryKey: [["devices"]] });
    });
    return () => {
      s.removeAllListeners();
      s.disconnect();
    };
  }, [queryClient]);

  return <LiveContext.Provider value={{ state, socket }}>{children}</LiveContext.Provider>;
}
