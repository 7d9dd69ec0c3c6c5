// A visitor of the demo store who lands in the treatment arm of its journey:
// the arm is H(profile id, journey id, "split", split step id) mod the total
// weight (docs/journeys.md, "Split and holdout"), so a test picks a device id
// in the treatment and pins it before the page's scripts run.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { DEMO_ARTIFACT } from '../../server/demo/start.js';
import { stableId } from '../../server/ids.js';

/** The arm of the demo journey `journeyId` that device `id` falls in. */
export function armOf(id, journeyId = 'cart-recovery') {
  const artifact = JSON.parse(readFileSync(DEMO_ARTIFACT, 'utf8'));
  const split = artifact.journeys.find((j) => j.id === journeyId).steps.find((s) => s.split);
  const total = BigInt(split.split.reduce((sum, arm) => sum + arm.weight, 0));
  let h = BigInt(`0x${stableId([id, journeyId, 'split', split.id])}`) % total;
  for (const arm of split.split) {
    if (h < BigInt(arm.weight)) return arm;
    h -= BigInt(arm.weight);
  }
  throw new Error('unreachable');
}

/** A random device id in the treatment arm. */
export function treatmentDeviceId() {
  for (;;) {
    const id = randomUUID();
    if (!armOf(id).holdout) return id;
  }
}

/** Makes every page of the context use device `id` (the runtime keeps it in localStorage). */
export function pinDevice(context, id) {
  return context.addInitScript((deviceId) => {
    try {
      if (!localStorage.getItem('rekindle.deviceId')) localStorage.setItem('rekindle.deviceId', deviceId);
    } catch {
      // about:blank and sandboxed frames have no storage
    }
  }, id);
}
