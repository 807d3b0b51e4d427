import { createApp } from "./app.js";
import { NoteStore, seed } from "./notes.js";

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "0.0.0.0";
const server = createApp(seed(new NoteStore())).listen(port, host, () => {
  console.log(`release-notes board listening on http://${host}:${port}/`);
});
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
