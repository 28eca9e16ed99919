"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTRPC } from "@/app/_trpc/client.tsx";
import { Badge } from "@/components/badge.tsx";
import { Timestamp } from "@/components/rollout-time.tsx";
import { ErrorState } from "@/components/states.tsx";
import { ROLES, ROLE_LABELS, type Role } from "@/server/auth/permissions.ts";

type FieldErrors = Record<string, string[] | undefined>;

function fieldErrorsOf(error: unknown): FieldErrors {
  return ((error as { data?: { fieldErrors?: FieldErrors | null } } | null)?.data?.fieldErrors ?? {}) as FieldErrors;
}

function CreateUserForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [role, setRole] = useState<Role>("operator");
  const create = useMutation(
    trpc.users.create.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() }) }),
  );
  const errors = fieldErrorsOf(create.error);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate(
      { email: String(form.get("email")), name: String(form.get("name")), password: String(form.get("password")), role },
      { onSuccess: () => (event.target as HTMLFormElement).reset() },
    );
  }

  const field = (name: string, label: string, type: string, autoComplete: string) => (
    <label className="flex flex-col gap-1 text-xs font-medium text-slate-700">
      {label}
      <input name={name} type={type} autoComplete={autoComplete} aria-invalid={errors[name] ? true : undefined} className="rounded border border-slate-300 px-2 py-1 text-sm font-normal" />
      {errors[name] ? <span className="text-red-700">{errors[name]![0]}</span> : null}
    </label>
  );

  return (
    <form onSubmit={onSubmit} aria-label="Add user" className="flex flex-wrap items-start gap-3">
      {field("email", "Email", "email", "off")}
      {field("name", "Name", "text", "off")}
      {field("password", "Initial password", "password", "new-password")}
      <label className="flex flex-col gap-1 text-xs font-medium text-slate-700">
        Role
        <select aria-label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)} className="rounded border border-slate-300 px-2 py-1 text-sm font-normal">
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABELS[r]}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={create.isPending} className="mt-5 rounded bg-sky-700 px-3 py-1 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-60">
        Add user
      </button>
      {create.error && Object.keys(errors).length === 0 ? <p role="alert" className="mt-6 text-xs text-red-700">{create.error.message}</p> : null}
    </form>
  );
}

export function UsersPanel({ currentUserId }: { currentUserId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const users = useQuery(trpc.users.list.queryOptions());
  const [notice, setNotice] = useState<string | null>(null);
  const done = (message: string) => {
    setNotice(message);
    return queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
  };
  const emailOf = (userId: string) => users.data?.find((u) => u.id === userId)?.email ?? "the user";
  const setRole = useMutation(trpc.users.setRole.mutationOptions({ onSuccess: (u) => done(`${u.email} is now ${ROLE_LABELS[u.role]}; their sessions were ended.`) }));
  const revoke = useMutation(trpc.users.revokeSessions.mutationOptions({ onSuccess: (_r, v) => done(`Signed ${emailOf(v.userId)} out everywhere.`) }));
  const setDisabled = useMutation(
    trpc.users.setDisabled.mutationOptions({ onSuccess: (_r, v) => done(`${emailOf(v.userId)} is ${v.disabled ? "disabled" : "enabled"}.`) }),
  );
  const actionError = setRole.error ?? revoke.error ?? setDisabled.error;

  return (
    <section aria-labelledby="users-title" className="rounded border border-slate-200 bg-white p-4">
      <h2 id="users-title" className="text-sm font-semibold">
        Users
      </h2>
      <p className="mt-1 text-xs text-slate-600">Changing a role or disabling a user ends their sessions at once.</p>
      <div className="mt-3">
        <CreateUserForm />
      </div>
      {actionError ? <div className="mt-3"><ErrorState title="That change was not made" message={actionError.message} /></div> : null}
      <p role="status" className="mt-2 min-h-4 text-xs text-emerald-700">{notice}</p>
      {users.error ? (
        <ErrorState message={users.error.message} onRetry={() => void users.refetch()} />
      ) : (
        <table className="mt-4 w-full text-left text-sm" aria-label="Users">
          <thead className="border-b border-slate-200 text-xs text-slate-600">
            <tr>
              <th scope="col" className="py-1.5">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Last sign-in</th>
              <th scope="col"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {(users.data ?? []).map((u) => (
              <tr key={u.id}>
                <td className="py-1.5">{u.email}</td>
                <td>{u.name}</td>
                <td>
                  <select
                    aria-label={`Role of ${u.email}`}
                    value={u.role}
                    disabled={u.id === currentUserId}
                    onChange={(e) => setRole.mutate({ userId: u.id, role: e.target.value as Role })}
                    className="rounded border border-slate-300 px-1 py-0.5 text-xs"
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>{ROLE_LABELS[r]}</option>
                    ))}
                  </select>
                </td>
                <td>{u.disabled ? <Badge tone="bad">Disabled</Badge> : <Badge tone="good">Active</Badge>}</td>
                <td className="text-xs text-slate-600"><Timestamp date={u.lastLoginAt} empty="never" /></td>
                <td className="space-x-2 text-right">
                  <button type="button" className="text-xs text-sky-700 hover:underline" onClick={() => revoke.mutate({ userId: u.id })} aria-label={`Sign out ${u.email} everywhere`}>
                    Sign out everywhere
                  </button>
                  {u.id !== currentUserId ? (
                    <button type="button" className="text-xs text-red-700 hover:underline" onClick={() => setDisabled.mutate({ userId: u.id, disabled: !u.disabled })} aria-label={`${u.disabled ? "Enable" : "Disable"} ${u.email}`}>
                      {u.disabled ? "Enable" : "Disable"}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
