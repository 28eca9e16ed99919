"use client";
import { useEffect, useState } from "react";

type Outcome = "idle" | "copied" | "failed";

/** The Clipboard API exists only on HTTPS and localhost; the dashboard may be served over plain HTTP inside a plant. */
async function writeToClipboard(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (permissions, unfocused document): try the older way.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  const focused = document.activeElement as HTMLElement | null;
  area.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    area.remove();
    focused?.focus();
  }
}

/** A small "Copy" button; `label` is its accessible name, e.g. "Copy SHA-256 of 4.2.0". The outcome is shown and announced. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [outcome, setOutcome] = useState<Outcome>("idle");
  useEffect(() => {
    if (outcome === "idle") return;
    const timer = setTimeout(() => setOutcome("idle"), 2000);
    return () => clearTimeout(timer);
  }, [outcome]);

  return (
    <>
      <button
        type="button"
        aria-label={label}
        onClick={async () => setOutcome((await writeToClipboard(text)) ? "copied" : "failed")}
        className="shrink-0 rounded border border-slate-300 bg-white px-1 py-px font-sans text-[11px] font-medium text-slate-600 hover:bg-slate-50"
      >
        {outcome === "copied" ? "✓ Copied" : "Copy"}
      </button>
      <span role="status" className={outcome === "failed" ? "font-sans text-[11px] text-red-700" : "sr-only"}>
        {outcome === "copied" ? "Copied." : outcome === "failed" ? "Could not copy: select the text instead." : ""}
      </span>
    </>
  );
}
