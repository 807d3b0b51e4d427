// The domain: release notes, validated with zod, grouped and sorted with lodash, rendered
// from Markdown with marked, dated with date-fns.
import { z } from "zod";
import _ from "lodash";
import { marked } from "marked";
import { formatDistanceStrict, formatISO, parseISO } from "date-fns";

export const NoteInput = z.object({
  component: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/),
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
  kind: z.enum(["feature", "fix", "security", "docs"]),
  title: z.string().min(3).max(200),
  body: z.string().max(20_000).default(""),
  date: z.string().refine((s) => !Number.isNaN(parseISO(s).getTime()), "not an ISO date"),
});
export type NoteInput = z.infer<typeof NoteInput>;

export interface Note extends NoteInput {
  id: number;
  html: string;
}

export interface ComponentSummary {
  component: string;
  latest: string;
  notes: number;
  byKind: Record<string, number>;
  lastReleased: string;
  lastReleasedAgo: string;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  }
  return 0;
}

export class NoteStore {
  private notes: Note[] = [];
  private nextId = 1;

  add(input: unknown): Note {
    const parsed = NoteInput.parse(input);
    const note: Note = {
      ...parsed,
      id: this.nextId++,
      date: formatISO(parseISO(parsed.date)),
      html: marked.parse(parsed.body, { async: false }) as string,
    };
    this.notes.push(note);
    return note;
  }

  list(filter: { component?: string; kind?: string } = {}): Note[] {
    return _.orderBy(
      this.notes.filter(
        (n) => (!filter.component || n.component === filter.component) && (!filter.kind || n.kind === filter.kind),
      ),
      [(n) => n.date, (n) => n.id],
      ["desc", "desc"],
    );
  }

  summary(now: Date = new Date()): ComponentSummary[] {
    const groups = _.groupBy(this.notes, (n) => n.component);
    return _.sortBy(
      Object.entries(groups).map(([component, notes]) => {
        const newest = _.maxBy(notes, (n) => n.date)!;
        const latest = notes.map((n) => n.version).sort(compareVersions).at(-1)!;
        return {
          component,
          latest,
          notes: notes.length,
          byKind: _.countBy(notes, (n) => n.kind),
          lastReleased: newest.date,
          lastReleasedAgo: formatDistanceStrict(parseISO(newest.date), now, { addSuffix: true }),
        };
      }),
      (s) => s.component,
    );
  }
}

export function seed(store: NoteStore): NoteStore {
  const samples: NoteInput[] = [
    { component: "cache", version: "0.1.0", kind: "feature", date: "2026-11-02", title: "PVC build cache",
      body: "Builds mount a **PersistentVolumeClaim** at `/var/lib/containers`." },
    { component: "cache", version: "0.2.0", kind: "feature", date: "2026-11-20", title: "Speedup gate",
      body: "The demo fails when `cold / median(warm)` is below `--min-speedup`." },
    { component: "cache", version: "0.2.1", kind: "fix", date: "2026-11-28", title: "Lease on the cache",
      body: "Two BuildRuns no longer write the same cache at once." },
    { component: "sample-app", version: "1.0.0", kind: "docs", date: "2026-12-03", title: "Reference workload",
      body: "An Express API and a browser bundle, built with `npm ci` and `npm run build`.\n\n- tsc\n- webpack" },
  ];
  for (const s of samples) store.add(s);
  return store;
}
