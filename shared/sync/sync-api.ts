// Request schemas of the sync admin routes: the adapters validate with them and the
// OpenAPI document is generated from them, so the two cannot drift.
import { z } from "zod";

export const startSyncBody = z.object({
  org: z.string().url().optional(),
  mode: z.enum(["incremental", "full"]).optional(),
  dryRun: z.boolean().optional(),
}).strict();

export const changePageQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
});

export const runListQuery = z.object({
  org: z.string().url().max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
