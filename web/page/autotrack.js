// Automatic collection for the page runtime. Each part can be switched off:
//
//   pageViews  one `web.webpagedetails.pageViews` when started
//   history    one more page view per distinct route change of a single-page app
//              (history.pushState / replaceState, popstate)
//   commerce   events from data attributes: a click inside `[data-rk-event]` tracks
//              that event; every `[data-rk-view]` tracks `commerce.productViews` once
//
//   <button data-rk-event="commerce.productListAdds" data-rk-sku="sku-1"
//           data-rk-name="Trail shoe" data-rk-price="89" data-rk-quantity="1"
//           data-rk-category="shoes" data-rk-currency="EUR">Add to cart</button>
//   <button data-rk-event="commerce.purchases" data-rk-order-total="89"
//           data-rk-order-id="A-1001" data-rk-currency="EUR">Pay</button>
//   <section data-rk-view data-rk-sku="sku-1" data-rk-name="Trail shoe">…</section>
//
// `track(eventType, fields)` is the page runtime's track: it adds the event id
// and timestamp. No dependencies but web/page/common.js.

import { reportError } from './common.js';

const PRODUCT_ATTRIBUTES = ['data-rk-sku', 'data-rk-name', 'data-rk-price', 'data-rk-quantity', 'data-rk-category'];

// A plain decimal number ("89", "19.90", "-1", "1e3"); anything else is malformed.
function parseNumber(text) {
  if (typeof text !== 'string') return undefined;
  const t = text.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

function nonEmpty(text) {
  if (typeof text !== 'string') return undefined;
  const t = text.trim();
  return t === '' ? undefined : t;
}

/** The product line an element describes, or undefined when it names no product. */
export function productFromElement(el) {
  const item = {};
  const sku = nonEmpty(el.getAttribute('data-rk-sku'));
  const name = nonEmpty(el.getAttribute('data-rk-name'));
  const category = nonEmpty(el.getAttribute('data-rk-category'));
  const currency = nonEmpty(el.getAttribute('data-rk-currency'));
  const price = parseNumber(el.getAttribute('data-rk-price'));
  if (sku !== undefined) item.SKU = sku;
  if (name !== undefined) item.name = name;
  if (category !== undefined) item.productCategory = category;
  if (price !== undefined) item.priceTotal = price;
  if (Object.keys(item).length === 0 && !el.hasAttribute('data-rk-quantity')) return undefined;
  if (currency !== undefined) item.currencyCode = currency;
  if (el.hasAttribute('data-rk-quantity')) {
    const quantity = parseNumber(el.getAttribute('data-rk-quantity'));
    if (quantity !== undefined) item.quantity = quantity;
  } else {
    item.quantity = 1;
  }
  return item;
}

/** The XDM fields of `eventType` described by the data attributes of `el`. */
export function fieldsFromElement(eventType, el, productSource = el) {
  const fields = {};
  const item = productFromElement(productSource);
  if (item) fields.productListItems = [item];
  const match = /^commerce\.([A-Za-z0-9_-]+)$/.exec(eventType);
  if (match && match[1] !== 'order') {
    fields.commerce = { [match[1]]: { value: 1 } };
    if (eventType === 'commerce.purchases') {
      const order = {};
      const total = parseNumber(el.getAttribute('data-rk-order-total'));
      const id = nonEmpty(el.getAttribute('data-rk-order-id'));
      const currency = nonEmpty(el.getAttribute('data-rk-currency')) ?? item?.currencyCode;
      if (total !== undefined) order.priceTotal = total;
      if (id !== undefined) order.purchaseID = id;
      if (currency !== undefined && Object.keys(order).length > 0) order.currencyCode = currency;
      if (Object.keys(order).length > 0) fields.commerce.order = order;
    }
  }
  return fields;
}

function parseUrl(href) {
  try {
    return new URL(href);
  } catch {
    return null;
  }
}

// The part of a URL that names a route: the path, plus the fragment when the
// site routes by fragment (`#/cart`, `#!/cart`); a plain `#section` is not a route.
function routeHash(url) {
  return /^#!?\//.test(url.hash) ? url.hash : '';
}
function routePath(href) {
  const url = parseUrl(href);
  return url ? url.pathname + routeHash(url) : String(href);
}
function routeKey(href) {
  const url = parseUrl(href);
  return url ? url.pathname + url.search + routeHash(url) : String(href);
}

/**
 * Starts automatic collection and returns `stop()`, which removes every
 * listener and restores `history.pushState` / `replaceState`.
 */
export function startAutoTrack({
  track,
  root = globalThis.document,
  pageViews = true,
  history = true,
  commerce = true,
  location = globalThis.location,
} = {}) {
  if (typeof track !== 'function') throw new TypeError('rekindle autotrack: option "track" must be a function');
  if (!root || typeof root.querySelectorAll !== 'function') {
    throw new TypeError('rekindle autotrack: option "root" must be a Document or an Element');
  }
  if ((pageViews || history) && (!location || typeof location.href !== 'string')) {
    throw new TypeError('rekindle autotrack: option "location" must have an href');
  }
  const doc = root.nodeType === 9 ? root : root.ownerDocument;
  const win = doc?.defaultView ?? globalThis;
  const cleanups = [];
  let stopped = false;

  const send = (eventType, fields) => {
    try {
      track(eventType, fields);
    } catch (err) {
      reportError(err);
    }
  };

  const pageView = (href, referrer) => {
    const web = { webPageDetails: { name: doc?.title ?? '', URL: href } };
    if (referrer) web.webReferrer = { URL: referrer };
    send('web.webpagedetails.pageViews', { web });
  };

  let lastHref = location?.href;

  if (pageViews) pageView(lastHref, doc?.referrer);

  if (history && win.history) {
    const hist = win.history;
    // A route change is tracked after the current task's synchronous code, so
    // a title set right after pushState is the one reported.
    const routeChanged = (kind) => {
      if (stopped) return;
      const href = location.href;
      const changed = kind === 'replace'
        ? routePath(href) !== routePath(lastHref)
        : routeKey(href) !== routeKey(lastHref);
      const referrer = lastHref;
      lastHref = href;
      if (changed) queueMicrotask(() => { if (!stopped) pageView(href, referrer); });
    };
    const patch = (method, kind) => {
      const hadOwn = Object.prototype.hasOwnProperty.call(hist, method);
      const original = hist[method];
      const patched = function (...args) {
        const result = original.apply(this, args);
        try {
          routeChanged(kind);
        } catch (err) {
          reportError(err);
        }
        return result;
      };
      hist[method] = patched;
      cleanups.push(() => {
        // Someone patched after us: leave their function in place (ours is now a pass-through).
        if (hist[method] !== patched) return;
        if (hadOwn) hist[method] = original;
        else delete hist[method];
      });
    };
    patch('pushState', 'push');
    patch('replaceState', 'replace');
    const onPop = () => routeChanged('pop');
    win.addEventListener('popstate', onPop);
    cleanups.push(() => win.removeEventListener('popstate', onPop));
  }

  if (commerce) {
    const within = (el) => el && (root.nodeType === 9 || root.contains(el));
    const onClick = (event) => {
      const target = event.target instanceof win.Element ? event.target : event.target?.parentElement;
      const el = target?.closest?.('[data-rk-event]');
      if (!within(el)) return;
      const eventType = nonEmpty(el.getAttribute('data-rk-event'));
      if (!eventType) return;
      // Product fields come from the element itself, or else from the product
      // container around it (`<article data-rk-sku=…><button data-rk-event=…>`).
      let source = el;
      if (!PRODUCT_ATTRIBUTES.some((a) => el.hasAttribute(a))) {
        const around = el.parentElement?.closest('[data-rk-sku]');
        if (within(around)) source = around;
      }
      send(eventType, fieldsFromElement(eventType, el, source));
    };
    root.addEventListener('click', onClick, true);
    cleanups.push(() => root.removeEventListener('click', onClick, true));

    const views = [];
    if (root.nodeType === 1 && root.hasAttribute('data-rk-view')) views.push(root);
    views.push(...root.querySelectorAll('[data-rk-view]'));
    for (const el of views) send('commerce.productViews', fieldsFromElement('commerce.productViews', el));
  }

  return function stop() {
    if (stopped) return;
    stopped = true;
    for (const cleanup of cleanups.reverse()) cleanup();
  };
}
