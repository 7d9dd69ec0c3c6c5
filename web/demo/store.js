/*
 * The demo store's own script (web/demo/index.html): the catalog, the page of
 * each route, the cart (in localStorage) and the inspector. It renders <main>
 * synchronously, before landing.js starts Rekindle, so the data-rk-*
 * attributes it writes are in place when the runtime starts collecting.
 * Everything Rekindle does here comes from those attributes and landing.js;
 * this script only reads the runtime's state for the inspector.
 */
(function () {
  'use strict';

  var CURRENCY = 'EUR';
  var PRODUCTS = [
    { sku: 'camp-kettle', name: 'Camp kettle', price: 42, category: 'cookware',
      blurb: 'Enamelled steel, 1.5 litres, boils on a stove or in the embers.' },
    { sku: 'wool-blanket', name: 'Wool blanket', price: 89, category: 'textiles',
      blurb: 'Heavy Shetland wool, woven in Yorkshire, fringed at both ends.' },
    { sku: 'trail-lantern', name: 'Trail lantern', price: 35, category: 'lighting',
      blurb: 'Candle lantern with a glass chimney; folds flat for the pack.' },
    { sku: 'enamel-mugs', name: 'Enamel mug set', price: 24, category: 'cookware',
      blurb: 'Two mugs, one blue and one ember red, that survive every trip.' },
  ];
  var JOURNEY_NAMES = { 'cart-recovery': 'Abandoned cart recovery' };
  var CART_KEY = 'kindling.cart';
  var TIMELINE_KEY = 'kindling.timeline';
  var INSPECTOR_KEY = 'kindling.inspector';

  function bySku(sku) {
    for (var i = 0; i < PRODUCTS.length; i += 1) if (PRODUCTS[i].sku === sku) return PRODUCTS[i];
    return null;
  }

  function money(n) {
    return '€' + (Math.round(n * 100) / 100).toFixed(n % 1 === 0 ? 0 : 2);
  }

  // Small DOM builder: el('p', {class: 'x'}, 'text', child...). Text is always text.
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
      node.setAttribute(k, attrs[k] === true ? '' : String(attrs[k]));
    });
    for (var i = 2; i < arguments.length; i += 1) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function productAttrs(p, extra) {
    var attrs = { 'data-rk-sku': p.sku, 'data-rk-name': p.name, 'data-rk-price': p.price, 'data-rk-currency': CURRENCY, 'data-rk-category': p.category };
    Object.keys(extra || {}).forEach(function (k) { attrs[k] = extra[k]; });
    return attrs;
  }

  function image(p, cls) {
    return el('img', { class: cls, src: '/rekindle/demo/img/' + p.sku + '.svg', alt: '' });
  }

  // ---- cart ---------------------------------------------------------------

  function readCart() {
    try {
      var lines = JSON.parse(localStorage.getItem(CART_KEY) || '[]');
      return Array.isArray(lines) ? lines.filter(function (l) { return bySku(l.sku) && l.quantity > 0; }) : [];
    } catch (err) {
      return [];
    }
  }

  function writeCart(lines) {
    localStorage.setItem(CART_KEY, JSON.stringify(lines));
    showCartCount();
  }

  function addToCart(sku) {
    var lines = readCart();
    var line = lines.filter(function (l) { return l.sku === sku; })[0];
    if (line) line.quantity += 1;
    else lines.push({ sku: sku, quantity: 1 });
    writeCart(lines);
  }

  function removeFromCart(sku) {
    writeCart(readCart().filter(function (l) { return l.sku !== sku; }));
  }

  function cartTotal(lines) {
    return lines.reduce(function (sum, l) { return sum + bySku(l.sku).price * l.quantity; }, 0);
  }

  function showCartCount() {
    var n = readCart().reduce(function (sum, l) { return sum + l.quantity; }, 0);
    document.getElementById('cart-count').textContent = String(n);
  }

  // ---- pages --------------------------------------------------------------

  function addButton(p) {
    return el('button', { class: 'lp-button', type: 'button', 'data-rk-event': 'commerce.productListAdds', 'data-add-to-cart': p.sku }, 'Add to cart');
  }

  function homePage() {
    var grid = el('section', { class: 'lp-products', id: 'products', 'aria-label': 'Products' });
    PRODUCTS.forEach(function (p) {
      grid.appendChild(el('article', productAttrs(p, { class: 'lp-product' }),
        el('a', { href: '/product/' + p.sku, class: 'store-product-link' }, image(p, 'lp-product__image'),
          el('h2', { class: 'lp-product__name' }, p.name)),
        el('p', { class: 'lp-product__text' }, p.blurb),
        el('p', { class: 'lp-product__price' }, money(p.price)),
        addButton(p)));
    });
    return grid;
  }

  function productPage(sku) {
    var p = bySku(sku);
    if (!p) return notFound();
    document.title = p.name + ' · Kindling & Co.';
    return el('article', productAttrs(p, { class: 'store-product', 'data-rk-view': true }),
      image(p, 'store-product__image'),
      el('div', { class: 'store-product__info' },
        el('p', { class: 'lp-eyebrow' }, p.category),
        el('h1', null, p.name),
        el('p', { class: 'store-product__blurb' }, p.blurb),
        el('p', { class: 'store-product__price' }, money(p.price)),
        addButton(p),
        el('p', { class: 'store-note' }, 'Then close the tab: 30 seconds later your cart counts as abandoned.')));
  }

  function cartPage() {
    document.title = 'Your cart · Kindling & Co.';
    var lines = readCart();
    var section = el('section', { class: 'lp-card store-cart', id: 'cart' }, el('h1', null, 'Your cart'));
    if (lines.length === 0) {
      section.appendChild(el('p', null, 'Your cart is empty. ', el('a', { href: '/' }, 'Find something warm.')));
      return section;
    }
    var table = el('table', { class: 'store-lines' });
    lines.forEach(function (l) {
      var p = bySku(l.sku);
      table.appendChild(el('tr', productAttrs(p, { 'data-rk-quantity': l.quantity }),
        el('td', null, image(p, 'store-lines__image')),
        el('td', null, el('a', { href: '/product/' + p.sku }, p.name)),
        el('td', { class: 'store-lines__qty' }, '× ' + l.quantity),
        el('td', { class: 'store-lines__price' }, money(p.price * l.quantity)),
        el('td', null, el('button', { class: 'store-remove', type: 'button', 'data-rk-event': 'commerce.productListRemovals', 'data-remove': p.sku, 'aria-label': 'Remove ' + p.name }, 'Remove'))));
    });
    section.appendChild(table);
    section.appendChild(el('p', { class: 'store-total' }, 'Total ', el('strong', null, money(cartTotal(lines)))));
    section.appendChild(el('a', { class: 'lp-button', id: 'to-checkout', href: '/checkout', 'data-rk-event': 'commerce.checkouts' }, 'Checkout'));
    return section;
  }

  function checkoutPage() {
    document.title = 'Checkout · Kindling & Co.';
    var lines = readCart();
    if (lines.length === 0) return cartPage();
    var total = cartTotal(lines);
    var order = 'K-' + String(Math.floor(100000 + Math.random() * 900000));
    return el('section', { class: 'lp-card store-checkout', id: 'checkout' },
      el('h1', null, 'Checkout'),
      el('p', null, lines.length + (lines.length === 1 ? ' item' : ' items') + ', ', el('strong', null, money(total)), '. Nothing is charged: this store is pretend.'),
      el('button', { class: 'lp-button', type: 'button', id: 'place-order', 'data-rk-event': 'commerce.purchases',
        'data-rk-order-total': total, 'data-rk-order-id': order, 'data-rk-currency': CURRENCY }, 'Place order · ' + money(total)));
  }

  function thanksPage() {
    document.title = 'Thank you · Kindling & Co.';
    var order = new URLSearchParams(location.search).get('order') || '';
    return el('section', { class: 'lp-card store-thanks', id: 'thanks' },
      el('h1', null, 'Thank you!'),
      el('p', null, 'Order ', el('strong', null, order), ' is placed (in pretend).'),
      el('p', null, 'If you were in the abandoned-cart journey, this purchase ended it as a conversion: the tile is withdrawn, a message not yet sent is cancelled, and the ',
        el('a', { href: '/dashboard', target: '_blank', rel: 'noopener' }, 'dashboard'), ' counts it.'),
      el('a', { class: 'lp-button', href: '/' }, 'Back to the shop'));
  }

  function notFound() {
    document.title = 'Not found · Kindling & Co.';
    return el('section', { class: 'lp-card' }, el('h1', null, 'No such product'), el('a', { href: '/' }, 'Back to the shop'));
  }

  function render() {
    var path = location.pathname.replace(/\/+$/, '') || '/';
    var main = document.getElementById('store-main');
    var match = /^\/product\/([a-z0-9-]+)$/.exec(path);
    var page;
    if (path === '/') page = homePage();
    else if (match) page = productPage(match[1]);
    else if (path === '/cart') page = cartPage();
    else if (path === '/checkout') page = checkoutPage();
    else if (path === '/thanks') page = thanksPage();
    else page = notFound();
    main.appendChild(page);
    // No promotions where the visitor is paying; the side column is for browsing.
    if (path === '/cart' || path === '/checkout' || path === '/thanks') document.getElementById('hero').remove();
    if (path === '/checkout' || path === '/thanks') document.getElementById('store-aside').remove();
    document.body.setAttribute('data-page', page.id || path.split('/')[1] || 'home');
    showCartCount();
  }

  // ---- interactions ---------------------------------------------------------

  function afterSaved(then) {
    var ready = window.RekindleLanding ? window.RekindleLanding.ready : Promise.reject(new Error('no runtime'));
    var wait = new Promise(function (resolve) { setTimeout(resolve, 1500); });
    Promise.race([ready.then(function (rk) { return rk.flush(); }), wait]).catch(function () {}).then(then);
  }

  document.addEventListener('click', function (event) {
    var add = event.target.closest('[data-add-to-cart]');
    if (add) {
      addToCart(add.getAttribute('data-add-to-cart'));
      soon();
      add.textContent = 'Added ✓';
      setTimeout(function () { add.textContent = 'Add to cart'; }, 1500);
      return;
    }
    var remove = event.target.closest('[data-remove]');
    if (remove) {
      removeFromCart(remove.getAttribute('data-remove'));
      afterSaved(function () { location.reload(); });
      return;
    }
    var place = event.target.closest('#place-order');
    if (place) {
      place.disabled = true;
      var order = place.getAttribute('data-rk-order-id');
      // The purchase event is already queued (the runtime saw the click first): send it, then leave.
      afterSaved(function () {
        writeCart([]);
        location.assign('/thanks?order=' + encodeURIComponent(order));
      });
    }
  });

  // ---- inspector ------------------------------------------------------------

  function clock(ms) {
    var d = new Date(ms);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map(function (n) { return String(n).padStart(2, '0'); }).join(':');
  }

  function inWords(ms) {
    if (ms <= 0) return 'now';
    var s = Math.ceil(ms / 1000);
    if (s < 60) return 'in ' + s + ' s';
    var m = Math.floor(s / 60);
    return 'in ' + m + ' min ' + String(s % 60).padStart(2, '0') + ' s';
  }

  function journeyName(id) {
    return JOURNEY_NAMES[id] || id;
  }

  function describeEffect(e) {
    var channel = e.channel === 'sms' ? 'SMS' : e.channel === 'email' ? 'Email' : e.channel;
    switch (e.type) {
      case 'segment.realized': return e.segment === 'abandoned-cart' ? 'Cart abandoned: now in segment abandoned-cart' : 'Joined segment ' + e.segment;
      case 'segment.exited': return 'Left segment ' + e.segment;
      case 'journey.entered': return 'Entered the journey “' + journeyName(e.journey) + '”';
      case 'offer.show': return 'Tile ' + e.offer + ' shown in ' + e.placement;
      case 'offer.withdraw': return 'Tile ' + e.offer + ' withdrawn';
      case 'dispatch.request': return channel + ' requested: the server sends it, tab open or not';
      case 'dispatch.cancelled': return 'A message not yet sent was cancelled';
      case 'action.suppressed': return channel + ' not sent (' + e.reason + ')';
      case 'journey.converted': return 'Converted: the purchase ended the journey (arm ' + (e.arm || 'none') + ')';
      case 'journey.exited': return 'The journey ended (' + e.reason + ')';
      case 'consent.changed': return 'Consent for ' + e.purpose + ': ' + e.to;
      default: return null;
    }
  }

  function loadTimeline(deviceId) {
    try {
      var saved = JSON.parse(localStorage.getItem(TIMELINE_KEY) || 'null');
      return saved && saved.deviceId === deviceId && Array.isArray(saved.items) ? saved.items : [];
    } catch (err) {
      return [];
    }
  }

  function remember(deviceId, effect) {
    var text = describeEffect(effect);
    if (!text) return;
    var items = loadTimeline(deviceId);
    var key = [effect.type, effect.instance, effect.step, effect.purpose, effect.at].join('|');
    if (items.some(function (i) { return i.key === key; })) return;
    items.push({ key: key, at: Date.parse(effect.at), text: text });
    items.sort(function (a, b) { return a.at - b.at; });
    localStorage.setItem(TIMELINE_KEY, JSON.stringify({ deviceId: deviceId, items: items.slice(-8) }));
  }

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node.textContent !== text) node.textContent = text;
  }

  function consentSummary(consent) {
    var short = { analytics: 'analytics', personalize: 'offers', 'marketing.email': 'email', 'marketing.sms': 'SMS' };
    var frag = document.createDocumentFragment();
    Object.keys(short).forEach(function (p) {
      var s = consent[p] ? consent[p].state : 'pending';
      frag.appendChild(el('span', { class: 'inspector__chip inspector__chip--' + s, title: p + ': ' + s, 'data-purpose': p, 'data-state': s },
        (s === 'granted' ? '✓ ' : s === 'denied' ? '✗ ' : '? ') + short[p]));
    });
    return frag;
  }

  function hint(s, cart, now) {
    var active = s.journeys.active[0];
    var decided = ['analytics', 'personalize', 'marketing.email'].every(function (p) { return s.consent[p].decided; });
    if (!decided) return 'Start with your privacy choices (bottom left): grant what you want to try.';
    if (active && active.holdout) {
      return 'You are in the holdout group (1 visitor in 10): this journey shows you nothing and sends nothing, so the dashboard can measure what it adds. Start over as a new visitor (with another email address) to try again.';
    }
    if (active) {
      var wake = active.wake ? ' The next step runs ' + inWords(active.wake - now) + ', whether this tab is open or not.' : '';
      return 'You are in the journey (arm ' + active.arm + '). Check the mailbox; buy something to convert.' + wake;
    }
    var pending = s.segments.every(function (m) { return m.segment !== 'abandoned-cart'; }) && s.nextDeadline !== null && cart.length > 0;
    if (pending) return 'Close this tab now: your cart counts as abandoned ' + inWords(s.nextDeadline - now) + '. Come back after the email arrives.';
    if (!(s.identities.email || []).length) return 'Leave an email address in “Stay in touch” so the reminder can reach you.';
    if (cart.length === 0) return 'Add something to your cart, then close this tab.';
    return 'Your cart is saved. Add to it again to start the 30-second wait anew.';
  }

  function renderInspector(rk) {
    var s = window.RekindleLanding.state(rk);
    if (!s) return;
    var now = Date.now();
    var cart = readCart();
    var who = s.attributes.firstName ? s.attributes.firstName + ' · ' : '';
    var email = (s.identities.email || [])[0];
    setText('inspector-visitor', who + (email || 'anonymous') + ' · device ' + s.deviceId.slice(0, 8));
    var consent = document.getElementById('inspector-consent');
    consent.replaceChildren(consentSummary(s.consent));
    setText('inspector-segments', s.segments.length === 0 ? 'none' : s.segments.map(function (m) {
      return m.segment + ' since ' + clock(Date.parse(m.since));
    }).join(', '));

    var journey = document.getElementById('inspector-journey');
    var active = s.journeys.active[0];
    if (active) {
      journey.setAttribute('data-arm', active.arm || '');
      setText('inspector-journey', journeyName(active.journey) + ' · arm ' + (active.arm || '—') +
        (active.holdout ? ' (nothing shown or sent)' : ' · step ' + (active.lastStep || '—')) + ' · entered ' + clock(active.entered));
    } else {
      journey.removeAttribute('data-arm');
      var ends = Object.keys(s.journeys.lastEnd);
      setText('inspector-journey', ends.length ? 'none active · ' + journeyName(ends[0]) + ' ended at ' + clock(s.journeys.lastEnd[ends[0]]) : 'none');
    }

    var deadlines = [];
    if (s.nextDeadline !== null) deadlines.push(s.nextDeadline);
    if (active && active.wake) deadlines.push(active.wake);
    var next = deadlines.length ? Math.min.apply(null, deadlines) : null;
    setText('inspector-deadline', next === null ? 'none' : clock(next) + ' (' + inWords(next - now) + ')');
    setText('inspector-hint', hint(s, cart, now));

    var list = document.getElementById('inspector-timeline');
    var items = loadTimeline(s.deviceId);
    // Newest first, so what just happened is in view.
    list.replaceChildren.apply(list, items.slice().reverse().map(function (i) {
      return el('li', null, el('time', null, clock(i.at)), ' ', i.text);
    }));
  }

  var refreshTimer = null;
  var runtime = null;

  // Shows a change in the inspector once the runtime has taken it (its turn is asynchronous).
  function soon() {
    setTimeout(function () { if (runtime && refreshTimer !== null) renderInspector(runtime); }, 200);
  }

  function startOver(rk) {
    var dbName = 'rekindle:' + rk.deviceId;
    clearInterval(refreshTimer);
    refreshTimer = null;
    rk.destroy().catch(function () {}).then(function () {
      return new Promise(function (resolve) {
        var req = indexedDB.deleteDatabase(dbName);
        req.onsuccess = req.onerror = req.onblocked = function () { resolve(); };
      });
    }).then(function () {
      [CART_KEY, TIMELINE_KEY, 'rekindle.deviceId'].forEach(function (k) { localStorage.removeItem(k); });
      location.assign('/');
    });
  }

  function wireInspector() {
    var panel = document.getElementById('inspector');
    var toggle = document.getElementById('inspector-toggle');
    function setOpen(open) {
      panel.classList.toggle('inspector--closed', !open);
      document.body.classList.toggle('inspector-closed', !open);
      toggle.setAttribute('aria-expanded', String(open));
      localStorage.setItem(INSPECTOR_KEY, open ? 'open' : 'closed');
    }
    setOpen(localStorage.getItem(INSPECTOR_KEY) !== 'closed');
    toggle.addEventListener('click', function () { setOpen(panel.classList.contains('inspector--closed')); });

    function withRuntime(rk) {
      runtime = rk;
      window.RekindleLanding.effects.forEach(function (e) { remember(rk.deviceId, e); });
      document.addEventListener('rekindle:effect', function (event) {
        remember(rk.deviceId, event.detail);
        if (refreshTimer !== null) renderInspector(rk);
      });
      ['rekindle:consent', 'rekindle:identified'].forEach(function (type) {
        document.addEventListener(type, soon);
      });
      document.getElementById('inspector-reset').addEventListener('click', function () { startOver(rk); });
      renderInspector(rk);
      refreshTimer = setInterval(function () { renderInspector(rk); }, 1000);
      document.body.setAttribute('data-store-ready', '');
    }
    // landing.js runs after this script: wait for it.
    document.addEventListener('DOMContentLoaded', function () {
      if (!window.RekindleLanding) {
        setText('inspector-hint', 'Rekindle did not load (is the module built? npm run build).');
        return;
      }
      window.RekindleLanding.ready.then(withRuntime, function (err) {
        setText('inspector-hint', 'Rekindle did not start: ' + err.message);
      });
    });
  }

  render();
  wireInspector();
}());
