"use client";
import { useEffect, useId, useRef, type ReactNode } from "react";

/**
 * A modal confirmation on the native <dialog>: the browser traps focus, makes
 * the page behind inert and closes it on Escape. The confirm button may carry
 * the same name as the button that opened the dialog; callers hide the page's
 * controls from assistive technology while it is open, so the name is unique.
 */
export function RolloutConfirmDialog({
  open,
  title,
  confirmLabel,
  pending,
  danger,
  onConfirm,
  onClose,
  children,
}: {
  open: boolean;
  title: string;
  confirmLabel: string;
  pending?: boolean;
  danger?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  children?: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onClose={onClose}
      className="m-auto w-full max-w-md rounded border border-slate-200 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-900/30"
    >
      {open ? (
        <form
          method="dialog"
          className="flex flex-col gap-3 p-4"
          onSubmit={(e) => {
            e.preventDefault();
            onConfirm();
          }}
        >
          <h2 id={titleId} className="text-sm font-semibold">
            {title}
          </h2>
          {children}
          <div className="flex justify-end gap-2">
            <button type="button" onClick={onClose} className="rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50">
              Cancel
            </button>
            <button
              type="submit"
              disabled={pending}
              className={`rounded px-3 py-1.5 text-sm font-medium text-white disabled:opacity-60 ${danger ? "bg-red-700 hover:bg-red-800" : "bg-sky-700 hover:bg-sky-800"}`}
            >
              {confirmLabel}
            </button>
          </div>
        </form>
      ) : null}
    </dialog>
  );
}
