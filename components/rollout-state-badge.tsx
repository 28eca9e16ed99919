import { Badge, type Tone } from "./badge.tsx";

// States of a rollout, of its waves and of one device's execution: always a
// colour, an icon and a word, never colour alone.
type Style = { tone: Tone; icon: string; label: string };

const ROLLOUT: Record<string, Style> = {
  awaiting_approval: { tone: "neutral", icon: "◌", label: "Awaiting approval" },
  running: { tone: "info", icon: "▶", label: "Running" },
  paused: { tone: "warn", icon: "‖", label: "Paused" },
  completed: { tone: "good", icon: "✓", label: "Completed" },
  aborted: { tone: "bad", icon: "✕", label: "Aborted" },
};

const WAVE: Record<string, Style> = {
  pending: { tone: "neutral", icon: "·", label: "Pending" },
  running: { tone: "info", icon: "▶", label: "Running" },
  passed: { tone: "good", icon: "✓", label: "Gate passed" },
  completed: { tone: "good", icon: "✓", label: "Completed" },
  aborted: { tone: "bad", icon: "✕", label: "Aborted" },
};

const EXECUTION: Record<string, Style> = {
  pending: { tone: "neutral", icon: "·", label: "Pending" },
  notified: { tone: "info", icon: "→", label: "Notified" },
  in_progress: { tone: "info", icon: "↻", label: "In progress" },
  retry_wait: { tone: "warn", icon: "↺", label: "Retry wait" },
  succeeded: { tone: "good", icon: "✓", label: "Succeeded" },
  failed: { tone: "bad", icon: "✕", label: "Failed" },
  timed_out: { tone: "bad", icon: "◴", label: "Timed out" },
  cancelled: { tone: "neutral", icon: "–", label: "Cancelled" },
};

export const ROLLOUT_STATE_LABELS = Object.fromEntries(Object.entries(ROLLOUT).map(([k, s]) => [k, s.label])) as Record<string, string>;
export const EXECUTION_STATE_LABELS = Object.fromEntries(Object.entries(EXECUTION).map(([k, s]) => [k, s.label])) as Record<string, string>;

/** "awaiting_approval" → "awaiting approval": the state as a screen reader should say it. */
export function stateWords(state: string): string {
  return state.replaceAll("_", " ");
}

function StateBadge({ styles, state, title }: { styles: Record<string, Style>; state: string; title?: string }) {
  const style = styles[state] ?? { tone: "neutral" as const, icon: "", label: stateWords(state) };
  return (
    <Badge tone={style.tone} title={title}>
      <span aria-hidden>{style.icon}</span>
      {style.label}
    </Badge>
  );
}

export function RolloutStateBadge({ state, title }: { state: string; title?: string }) {
  return <StateBadge styles={ROLLOUT} state={state} title={title} />;
}

export function WaveStateBadge({ state }: { state: string }) {
  return <StateBadge styles={WAVE} state={state} />;
}

export function ExecutionStateBadge({ state }: { state: string }) {
  return <StateBadge styles={EXECUTION} state={state} />;
}
