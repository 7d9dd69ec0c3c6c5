// Item 3 in Chromium: from the start of the page's script to the first
// decision of the page runtime, which restores the saved state (seeded by
// ingest-page.mjs benchSeed for the "restored" runs), processes the deadlines
// that passed, and then decides. Rekindle is imported at run time, so its
// download and the wasm compilation are inside the measured time; the
// artifact object is built before the clock starts (a site has it inline or
// fetches it).
import { buildArtifact, eventTime } from '../lib/workload.mjs';

const artifact = buildArtifact({ segments: 50, journeys: 10, historyEvents: 10000 });
const t0 = performance.now();
const clock = eventTime(10000);

(async () => {
  const { createRekindle } = await import(new URL('../../web/index.js', location.href).href);
  const t1 = performance.now();
  const problems = [];
  const rk = await createRekindle({
    artifact, now: () => clock, deviceId: 'bench-device', render: false, autoTrack: false,
    onError: (err) => problems.push(err.message),
  });
  const t2 = performance.now();
  const decision = rk.decide('hero');
  const t3 = performance.now();
  window.benchReady = {
    scriptStartMs: t0,
    importMs: t1 - t0,
    createMs: t2 - t1,
    decideMs: t3 - t2,
    totalMs: t3 - t0,
    sinceNavigationMs: t3,
    decision: decision?.offer ?? null,
    restoredChars: rk.snapshot().length,
    problems,
  };
})().catch((err) => {
  window.benchReady = { error: String(err?.stack ?? err) };
});
