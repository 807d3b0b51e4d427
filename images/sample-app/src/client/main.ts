// The browser side: fetches the API, validates it with zod, renders Markdown with marked and
// dates with date-fns, sorts and filters with lodash. Bundled by webpack into dist/app.js.
import { z } from "zod";
import _ from "lodash";
import { marked } from "marked";
import { format, formatDistanceToNow, parseISO } from "date-fns";

const Note = z.object({
  id: z.number(),
  component: z.string(),
  version: z.string(),
  kind: z.enum(["feature", "fix", "security", "docs"]),
  title: z.string(),
  body: z.string(),
  date: z.string(),
});
const Notes = z.array(Note);
type Note = z.infer<typeof Note>;

const KIND_LABEL: Record<Note["kind"], string> = {
  feature: "New",
  fix: "Fixed",
  security: "Security",
  docs: "Docs",
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function renderNote(n: Note): string {
  const date = parseISO(n.date);
  return `<article class="note note-${n.kind}">
  <header><span class="kind">${KIND_LABEL[n.kind]}</span> <strong>${escapeHtml(n.component)} ${escapeHtml(n.version)}</strong>
  — ${escapeHtml(n.title)} <time datetime="${escapeHtml(n.date)}" title="${format(date, "PPpp")}">${formatDistanceToNow(date, { addSuffix: true })}</time></header>
  ${marked.parse(n.body, { async: false })}
</article>`;
}

export function render(notes: Note[], filter: string): string {
  const shown = filter ? notes.filter((n) => n.component.includes(filter) || n.title.toLowerCase().includes(filter.toLowerCase())) : notes;
  const groups = _.groupBy(_.orderBy(shown, ["date", "id"], ["desc", "desc"]), (n) => format(parseISO(n.date), "MMMM yyyy"));
  return Object.entries(groups)
    .map(([month, items]) => `<section><h2>${month}</h2>${items.map(renderNote).join("\n")}</section>`)
    .join("\n") || "<p>No release notes match.</p>";
}

async function main(): Promise<void> {
  const list = document.getElementById("notes");
  const search = document.getElementById("search") as HTMLInputElement | null;
  if (!list) return;
  const notes = Notes.parse(await (await fetch("/api/notes")).json());
  const update = _.debounce(() => {
    list.innerHTML = render(notes, search?.value.trim() ?? "");
  }, 120);
  search?.addEventListener("input", update);
  list.innerHTML = render(notes, "");
}

if (typeof document !== "undefined") {
  void main();
}
