import express, { type Request, type Response, type NextFunction } from "express";
import compression from "compression";
import helmet from "helmet";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ZodError } from "zod";
import { NoteStore } from "./notes.js";

const here = path.dirname(fileURLToPath(import.meta.url));
// build/server/ -> the package root
const root = path.resolve(here, "..", "..");

export function createApp(store: NoteStore): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(helmet());
  app.use(compression());
  app.use(express.json({ limit: "100kb" }));

  app.get("/healthz", (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/api/notes", (req, res) => {
    const component = typeof req.query.component === "string" ? req.query.component : undefined;
    const kind = typeof req.query.kind === "string" ? req.query.kind : undefined;
    res.json(store.list({ component, kind }));
  });
  app.post("/api/notes", (req, res) => {
    res.status(201).json(store.add(req.body));
  });
  app.get("/api/summary", (_req, res) => {
    res.json(store.summary());
  });
  app.use("/static", express.static(path.join(root, "dist"), { maxAge: "1h" }));
  app.get("/", (_req, res) => {
    res.sendFile(path.join(root, "public", "index.html"));
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ZodError) {
      res.status(400).json({ error: "invalid note", issues: err.issues });
      return;
    }
    res.status(500).json({ error: String(err) });
  });
  return app;
}
