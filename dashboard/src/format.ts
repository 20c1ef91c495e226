/** Times and durations as an operator reads them: "3 s ago", "1 min 5 s", with the exact time on hover. */

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

export function between(from: string | null, to: string | null): string {
  if (from === null || to === null) return '–';
  return duration(Date.parse(to) - Date.parse(from));
}

export function ago(iso: string | null, now = Date.now()): string {
  if (iso === null) return '–';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '–';
  return ms < 1_000 ? 'just now' : `${duration(ms)} ago`;
}

/** A <time> element: relative text, absolute time as its title. */
export function timeElement(iso: string | null): HTMLElement {
  const element = document.createElement('time');
  element.textContent = ago(iso);
  if (iso !== null) {
    element.dateTime = iso;
    element.title = new Date(iso).toLocaleString();
  }
  return element;
}

export function clock(iso: string | null): string {
  return iso === null ? '–' : new Date(iso).toLocaleTimeString();
}
