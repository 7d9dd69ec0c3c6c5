// Promo tiles: renders engine decisions into `[data-rk-placement]` elements,
// keeps each element's own content as its fallback, and reports feedback
// (display after `dwellMs` of at least `visibleRatio` visibility, clicks,
// dismissals) once per proposition per view. No dependencies but web/page/common.js.
//
//   <div data-rk-placement="hero">…fallback…</div>
//
//   const tiles = new Tiles({ onFeedback: (kind, info) => … });
//   for (const p of tiles.placements()) tiles.render(p, rk.decide(p));
//
// Safety: the text fields of a decision are inserted with textContent only;
// image and CTA URLs are used only when they are http(s) or a site path; the
// offer's `html` (engine-escaped values inside the marketer's template) is
// parsed inert in a <template> and stripped of scripts, frames, plugins,
// event-handler attributes and unsafe URLs before it reaches the document.

import { isObject, describeType, reportError } from './common.js';

const PLACEMENT_SELECTOR = '[data-rk-placement]';

// Elements removed from offer html: they run code, load other documents, or
// change how the whole document resolves URLs or refreshes.
const BLOCKED_ELEMENTS = [
  'script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'meta',
  'link', 'template', 'noscript', 'portal', 'fencedframe', 'animate', 'set',
  'animateMotion', 'animateTransform', 'handler', 'listener',
].join(',');

// Attributes that hold a URL (or a list of them, for srcset).
const URL_ATTRIBUTES = new Set([
  'href', 'src', 'xlink:href', 'action', 'formaction', 'poster', 'background', 'data',
  'codebase', 'cite', 'longdesc', 'ping', 'srcset', 'imagesrcset', 'manifest', 'lowsrc',
  'dynsrc', 'usemap', 'profile', 'itemtype', 'archive', 'classid',
]);

// `http://…`, `https://…`, or a path on this site (`/cart`, not `//host`, no
// backslashes, whitespace or control characters): the rule the engine applies
// to content URLs at load (docs/journeys.md, URLs).
export function isSafeContentUrl(url) {
  if (typeof url !== 'string' || url.length === 0) return false;
  if (/[\s\\\u0000-\u001f\u007f]/.test(url)) return false;
  if (url.startsWith('/')) return !url.startsWith('//');
  return /^https?:\/\/[^/]/i.test(url);
}

// Inside offer html the marketer may also link to fragments, mail and phone.
function isSafeMarkupUrl(value) {
  const url = value.trim();
  if (url === '') return true;
  if (url.startsWith('#')) return true;
  if (/^(mailto|tel):/i.test(url) && !/[\u0000-\u001f\u007f]/.test(url)) return true;
  return isSafeContentUrl(url);
}

// Any attribute value that, with whitespace and control characters removed,
// names a script-capable scheme, whatever the attribute.
function hasScriptScheme(value) {
  // eslint-disable-next-line no-control-regex
  const squashed = value.replace(/[\s\u0000-\u001f\u007f]+/g, '').toLowerCase();
  return /^(javascript|vbscript|livescript|data):/.test(squashed);
}

/**
 * Parses offer html inert and returns a sanitized DocumentFragment owned by `doc`.
 * Exported for tests and for hosts that render html elsewhere.
 */
export function sanitizeOfferHtml(html, doc = document) {
  const template = doc.createElement('template');
  template.innerHTML = String(html);
  const fragment = template.content;
  for (const el of fragment.querySelectorAll(BLOCKED_ELEMENTS)) el.remove();
  for (const el of fragment.querySelectorAll('*')) {
    for (const attr of [...el.attributes]) {
      const name = attr.name.toLowerCase();
      const value = attr.value;
      let drop = false;
      if (name.startsWith('on')) drop = true;
      else if (name === 'srcdoc' || name === 'data-rk-placement' || name === 'is') drop = true;
      else if (hasScriptScheme(value)) drop = true;
      else if (name === 'srcset' || name === 'imagesrcset') {
        drop = !value.split(',').every((candidate) => isSafeMarkupUrl(candidate.trim().split(/\s+/)[0] ?? ''));
      } else if (URL_ATTRIBUTES.has(name)) drop = !isSafeMarkupUrl(value);
      if (drop) el.removeAttribute(attr.name);
    }
  }
  return doc.importNode(fragment, true);
}

function checkDecision(decision) {
  if (!isObject(decision)) {
    throw new TypeError(`rekindle tiles: a decision must be an object or null, not ${describeType(decision)}`);
  }
  if (typeof decision.proposition !== 'string' || decision.proposition === '') {
    throw new TypeError('rekindle tiles: the decision has no proposition id');
  }
  const content = decision.content;
  if (content === null || typeof content !== 'object' || typeof content.title !== 'string') {
    throw new TypeError('rekindle tiles: the decision has no content.title');
  }
}

export class Tiles {
  #root;
  #doc;
  #onFeedback;
  #visibleRatio;
  #dwellMs;
  #observer = null;
  // placement element -> { el, fallback: Node[], tile: Element, view, visible, timer }
  #shown = new Map();
  // rendered tile container -> the same state
  #byTile = new WeakMap();
  // proposition -> { proposition, placement, offer, displayed, elements: Set<Element> }
  #views = new Map();
  // Propositions the visitor dismissed in this page view: not shown again by this instance.
  #dismissed = new Set();
  #onVisibility;
  #destroyed = false;

  constructor({
    root = globalThis.document,
    onFeedback = () => {},
    visibleRatio = 0.5,
    dwellMs = 1000,
    IntersectionObserver = globalThis.IntersectionObserver,
  } = {}) {
    if (!root || typeof root.querySelectorAll !== 'function') {
      throw new TypeError('rekindle tiles: option "root" must be a Document or an Element');
    }
    if (typeof onFeedback !== 'function') throw new TypeError('rekindle tiles: option "onFeedback" must be a function');
    if (typeof visibleRatio !== 'number' || !(visibleRatio > 0 && visibleRatio <= 1)) {
      throw new TypeError('rekindle tiles: option "visibleRatio" must be a number in (0, 1]');
    }
    if (typeof dwellMs !== 'number' || !Number.isFinite(dwellMs) || dwellMs < 0) {
      throw new TypeError('rekindle tiles: option "dwellMs" must be a non-negative number of milliseconds');
    }
    this.#root = root;
    this.#doc = root.nodeType === 9 ? root : root.ownerDocument;
    this.#onFeedback = onFeedback;
    this.#visibleRatio = visibleRatio;
    this.#dwellMs = dwellMs;
    // Without IntersectionObserver (old browsers, non-DOM hosts) no display is
    // ever counted: an impression that cannot be measured is not claimed.
    if (typeof IntersectionObserver === 'function') {
      this.#observer = new IntersectionObserver((entries) => this.#onIntersect(entries), {
        threshold: [visibleRatio],
      });
    }
    this.#onVisibility = () => this.#visibilityChanged();
    this.#doc?.addEventListener?.('visibilitychange', this.#onVisibility);
  }

  /** Ids of the `[data-rk-placement]` elements under root, in document order, without repeats. */
  placements() {
    const ids = [];
    for (const el of this.#elements()) {
      const id = el.getAttribute('data-rk-placement');
      if (id && !ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  /**
   * Renders a decision into every element of the placement, synchronously;
   * `null` restores the fallback. Rendering the proposition an element already
   * shows does nothing (and counts nothing again). A proposition the visitor
   * dismissed is not shown again by this instance (the page view): the
   * fallback stays, until the engine decides something else.
   */
  render(placement, decision) {
    this.#alive('render');
    if (typeof placement !== 'string') throw new TypeError('rekindle tiles: render(placement, decision) needs a placement id string');
    const elements = this.#elements().filter((el) => el.getAttribute('data-rk-placement') === placement);
    if (decision === null || decision === undefined) {
      for (const el of elements) this.#restore(el);
      return;
    }
    checkDecision(decision);
    if (this.#dismissed.has(decision.proposition)) {
      for (const el of elements) this.#restore(el);
      return;
    }
    for (const el of elements) {
      const current = this.#shown.get(el);
      if (current && current.view.proposition === decision.proposition) continue;
      if (current) this.#restore(el);
      // Joins the proposition's current view (another element of the placement
      // shows it), or starts a new one.
      let view = this.#views.get(decision.proposition);
      if (!view) {
        view = {
          proposition: decision.proposition,
          placement,
          offer: typeof decision.offer === 'string' ? decision.offer : '',
          displayed: false,
          elements: new Set(),
        };
        this.#views.set(view.proposition, view);
      }
      this.#show(el, decision, view);
    }
  }

  /** Restores the fallback of every element that shows the proposition; its view ends. */
  withdraw(proposition) {
    this.#alive('withdraw');
    const view = this.#views.get(proposition);
    if (!view) return;
    for (const el of [...view.elements]) this.#restore(el);
  }

  /** Disconnects the observer, cancels timers and restores every fallback. */
  destroy() {
    if (this.#destroyed) return;
    for (const el of [...this.#shown.keys()]) this.#restore(el);
    this.#observer?.disconnect();
    this.#doc?.removeEventListener?.('visibilitychange', this.#onVisibility);
    this.#destroyed = true;
  }

  #alive(method) {
    if (this.#destroyed) throw new Error(`rekindle tiles: ${method}() called after destroy()`);
  }

  #elements() {
    const list = [];
    if (this.#root.nodeType === 1 && this.#root.matches(PLACEMENT_SELECTOR)) list.push(this.#root);
    for (const el of this.#root.querySelectorAll(PLACEMENT_SELECTOR)) {
      // A placement inside a tile we rendered is content, not a placement.
      if (!el.parentElement?.closest('.rk-tile[data-rk-rendered]')) list.push(el);
    }
    return list;
  }

  #show(el, decision, view) {
    const fallback = [...el.childNodes];
    for (const node of fallback) node.remove();
    const tile = this.#build(decision);
    el.appendChild(tile);
    el.setAttribute('data-rk-proposition', view.proposition);
    el.setAttribute('data-rk-offer', view.offer);
    const state = { el, fallback, tile, view, visible: false, timer: null };
    tile.addEventListener('click', (event) => this.#onClick(event, state));
    this.#shown.set(el, state);
    this.#byTile.set(tile, state);
    view.elements.add(el);
    this.#observer?.observe(tile);
  }

  #restore(el) {
    const state = this.#shown.get(el);
    if (!state) return;
    this.#shown.delete(el);
    clearTimeout(state.timer);
    this.#observer?.unobserve(state.tile);
    state.tile.remove();
    for (const node of [...el.childNodes]) node.remove();
    for (const node of state.fallback) el.appendChild(node);
    el.removeAttribute('data-rk-proposition');
    el.removeAttribute('data-rk-offer');
    state.view.elements.delete(el);
    if (state.view.elements.size === 0 && this.#views.get(state.view.proposition) === state.view) {
      this.#views.delete(state.view.proposition);
    }
  }

  #build(decision) {
    const doc = this.#doc;
    const tile = doc.createElement('div');
    tile.className = 'rk-tile';
    tile.setAttribute('data-rk-rendered', '');
    const dismiss = doc.createElement('button');
    dismiss.type = 'button';
    dismiss.className = 'rk-tile__dismiss';
    dismiss.setAttribute('aria-label', 'Dismiss this offer');
    dismiss.setAttribute('data-rk-dismiss', '');
    dismiss.textContent = '\u00d7';
    tile.appendChild(dismiss);

    // The engine puts the offer's html in content.html (docs/journeys.md,
    // decide()); a top-level html is the shape of older decisions.
    const html = typeof decision.content.html === 'string' ? decision.content.html : decision.html;
    if (typeof html === 'string' && html !== '') {
      tile.classList.add('rk-tile--html');
      tile.appendChild(sanitizeOfferHtml(html, doc));
      return tile;
    }

    const { title, body, image, cta } = decision.content;
    if (typeof image === 'string' && isSafeContentUrl(image)) {
      const img = doc.createElement('img');
      img.className = 'rk-tile__image';
      img.alt = '';
      img.src = image;
      tile.appendChild(img);
    }
    const heading = doc.createElement('strong');
    heading.className = 'rk-tile__title';
    heading.textContent = title;
    tile.appendChild(heading);
    // A screen reader meets the button first: it names what it dismisses.
    if (typeof title === 'string' && title !== '') dismiss.setAttribute('aria-label', `Dismiss: ${title}`);
    if (typeof body === 'string' && body !== '') {
      const p = doc.createElement('p');
      p.className = 'rk-tile__body';
      p.textContent = body;
      tile.appendChild(p);
    }
    if (cta && typeof cta === 'object' && typeof cta.label === 'string' && cta.label !== '') {
      const a = doc.createElement('a');
      a.className = 'rk-tile__cta';
      a.setAttribute('data-rk-cta', '');
      if (typeof cta.url === 'string' && isSafeContentUrl(cta.url)) a.href = cta.url;
      a.textContent = cta.label;
      tile.appendChild(a);
    }
    return tile;
  }

  #onClick(event, state) {
    if (this.#shown.get(state.el) !== state) return;
    const target = event.target instanceof Element ? event.target : event.target?.parentElement;
    if (!target) return;
    const info = this.#info(state.view);
    if (target.closest('[data-rk-dismiss]')) {
      const focused = state.el.contains(this.#doc.activeElement);
      this.#dismissed.add(state.view.proposition);
      for (const el of [...state.view.elements]) this.#restore(el);
      // The focused button is gone: the placement takes the focus, not <body>.
      if (focused) {
        if (!state.el.hasAttribute('tabindex')) state.el.setAttribute('tabindex', '-1');
        state.el.focus({ preventScroll: true });
      }
      this.#emit('dismiss', info);
      return;
    }
    // In text tiles the CTA; in html tiles any link, or an element the marketer marked.
    if (target.closest('[data-rk-cta], a[href]')) this.#emit('click', info);
  }

  #info(view) {
    return { proposition: view.proposition, placement: view.placement, offer: view.offer };
  }

  #emit(kind, info) {
    try {
      this.#onFeedback(kind, info);
    } catch (err) {
      reportError(err);
    }
  }

  #onIntersect(entries) {
    for (const entry of entries) {
      const state = this.#byTile.get(entry.target);
      if (!state || this.#shown.get(state.el) !== state) continue;
      // Chromium reports a crossing of the threshold; a tiny tolerance covers rounding.
      state.visible = entry.isIntersecting && entry.intersectionRatio >= this.#visibleRatio - 1e-6;
      if (state.visible) this.#startDwell(state);
      else this.#stopDwell(state);
    }
  }

  #startDwell(state) {
    if (state.view.displayed || state.timer !== null) return;
    if (this.#doc?.visibilityState === 'hidden') return;
    state.timer = setTimeout(() => {
      state.timer = null;
      if (this.#shown.get(state.el) !== state || !state.visible || state.view.displayed) return;
      if (this.#views.get(state.view.proposition) !== state.view) return;
      state.view.displayed = true;
      for (const el of state.view.elements) {
        const other = this.#shown.get(el);
        if (other && other !== state) this.#stopDwell(other);
      }
      this.#emit('display', this.#info(state.view));
    }, this.#dwellMs);
  }

  #stopDwell(state) {
    if (state.timer !== null) {
      clearTimeout(state.timer);
      state.timer = null;
    }
  }

  // A hidden tab shows nothing: dwell restarts from zero when it is visible again.
  #visibilityChanged() {
    const hidden = this.#doc.visibilityState === 'hidden';
    for (const state of this.#shown.values()) {
      if (hidden) this.#stopDwell(state);
      else if (state.visible) this.#startDwell(state);
    }
  }
}
