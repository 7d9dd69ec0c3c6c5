// Compiled with `tsc --noEmit`: lines marked @ts-expect-error must fail to
// type-check, everything else must pass.
import {
  createRekindle, createEngine, type Rekindle, type RekindleEngine, type TrackResult, type UpdateResult, type LoadResult, type SegmentMembership,
  RekindleOptionsError, RekindleArtifactError,
} from 'rekindle';

async function main(): Promise<void> {
  await createRekindle({ on: { 'segment.realized': (e) => void e.segment, '*': (e) => void e.at } });
  const page: Rekindle = await createRekindle({ endpoint: '/rk', consent: { 'marketing.email': 'granted' }, autoTrack: { history: false } });
  const tracked: TrackResult = await page.track('commerce.purchases', { commerce: { order: { priceTotal: 10 } } });
  const off = page.on('offer.show', (e) => {
    const placement: string = e.placement;
    void placement;
  });
  off();
  await page.flush();
  await page.destroy();
  void tracked;
  // @ts-expect-error storage is indexeddb or memory
  await createRekindle({ storage: 'localStorage' });

  const rk: RekindleEngine = await createEngine({ wasmUrl: '/rekindle.wasm', now: () => 0 });
  const version: string = rk.version;
  const r1: TrackResult = rk.track('commerce.productListAdds', {
    productListItems: [{ SKU: 'sku-1', quantity: 1, priceTotal: 20 }],
  });
  const r2: TrackResult = rk.track({ _id: 'e1', eventType: 'acme.custom', timestamp: '2026-12-04T15:53:00Z' });
  const r3: TrackResult = rk.trackJson('{"_id":"e2"}');
  const firstPath: string | undefined = r1.errors[0]?.path;
  const loaded: LoadResult = rk.loadArtifact({ version: '1', segments: [{ id: 'a', rule: { segment: 'b' } }] });
  const same: boolean = loaded.same;
  void same;
  const at: string | undefined = loaded.transitions[0]?.at;
  const next: number | null = rk.nextDeadline();
  const members: SegmentMembership[] = rk.segments();
  const advanced: UpdateResult = rk.advance(Date.now());
  rk.setAttributes({ tier: 'gold' });
  void [at, next, members, advanced];
  // @ts-expect-error an artifact needs a version
  rk.loadArtifact({ segments: [] });
  // @ts-expect-error attributes are an object
  rk.setAttributes('gold');
  rk.setConsent({ 'marketing.email': 'granted' });
  // @ts-expect-error unknown purpose
  rk.setConsent({ 'marketing.fax': 'granted' });
  const d = rk.decide('hero');
  const title: string | undefined = d?.content.title;
  const records = rk.pending(50);
  const acked: number = rk.ack(records.map((r) => r.id));
  for (const e of advanced.effects) {
    if (e.type === 'offer.show') {
      const p: string = e.placement;
      void p;
    }
  }
  void [title, acked];
  const state = rk.state();
  const email: string[] | undefined = state.profile.identities.email;
  const marketing: 'granted' | 'denied' | 'pending' = state.consent['marketing.email'].state;
  const wake: number | undefined = state.journeys.active[0]?.wake;
  void [email, marketing, wake];
  const vip = rk.condition({ and: [{ path: 'profile.tier', op: 'eq', value: 'gold' }, { segment: 'abandoned-cart' }] });
  const isVip: boolean = vip.test();
  vip.dispose();
  void isVip;
  // @ts-expect-error consent is by known purpose
  void state.consent.newsletter;
  const saved: string = rk.snapshot();
  const restored: UpdateResult = rk.restore(saved);
  void restored;
  // @ts-expect-error a snapshot is JSON text
  rk.restore({});
  const { accepted, duplicates, outbox, outboxDropped } = rk.stats();
  rk.destroy();
  const counts: number[] = [accepted, duplicates, outbox, outboxDropped];
  void [version, r2, r3, firstPath, counts];

  // @ts-expect-error now must return a number
  await createEngine({ now: () => 'soon' });
  // @ts-expect-error unknown options are refused
  await createRekindle({ endpont: '/collect' });
  // @ts-expect-error a full event needs an _id
  rk.track({ eventType: 'x', timestamp: '2026-12-04T15:53:00Z' });
  // @ts-expect-error items must be objects
  rk.track('commerce.productViews', { productListItems: ['sku-1'] });

  const bad = new RekindleArtifactError();
  const firstError: string | undefined = bad.errors[0]?.path;
  void firstError;
  const err = new RekindleOptionsError();
  const option: string = err.option;
  void option;
}

void main;
