// Depth of each `<queue>-poison` queue (where the host moves a message after five failed dequeues), recorded
// as a gauge on every sync timer tick so an alert fires on any poisoned message.
import { QUEUES, type Storage } from "../state/storage.js";
import { recordMetric } from "./metrics.js";

export async function recordPoisonDepth(storage: Pick<Storage, "queue">): Promise<Record<string, number>> {
  const depths: Record<string, number> = {};
  await Promise.all(Object.values(QUEUES).map(async (name) => {
    const poison = `${name}-poison`;
    const properties = await (await storage.queue(poison)).getProperties();
    depths[poison] = properties.approximateMessagesCount ?? 0;
    recordMetric("poisonDepth", depths[poison], { queue: poison });
  }));
  return depths;
}
