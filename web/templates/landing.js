/*
 * Rekindle landing-page boot script: starts the page runtime from data
 * attributes, so a page made from web/templates/landing.html needs no
 * JavaScript of its own. Load it after the script-tag build:
 *
 *   <script src="/rekindle/dist/rekindle.global.js"></script>
 *   <script src="/rekindle/templates/landing.js"
 *           data-endpoint="https://collect.example.com"
 *           data-write-key="site-key-1"></script>
 *
 * Attributes of this <script> element:
 *   data-endpoint       the Rekindle server (default: this page's origin)
 *   data-write-key      the site's write key (public)
 *   data-artifact-url   the campaign artifact (default: ENDPOINT/v1/artifact)
 *
 * What it wires, all from attributes in the page (docs/landing-template.md):
 *   [data-rk-placement]            promo tiles (the runtime renders them)
 *   [data-rk-event], [data-rk-view] events (the runtime's automatic collection)
 *   [data-rk-consent-banner]       a consent banner, shown while a purpose it asks about is undecided,
 *                                  with [data-rk-consent="purpose"] checkboxes and the buttons
 *                                  [data-rk-consent-accept-all], [data-rk-consent-reject-all], [data-rk-consent-save]
 *   [data-rk-consent-open]         any element that opens the banner again
 *   form[data-rk-identify]         a sign-up form: [data-rk-identity="email"|"phone"|...] inputs link the
 *                                  visitor, [data-rk-attribute="firstName"] inputs set profile attributes,
 *                                  [data-rk-consent="purpose"] checkboxes grant a purpose when ticked;
 *                                  [data-rk-identify-done] inside is shown once saved
 *   links in tiles and links with data-rk-event wait (at most 1 s) until the click is saved before
 *   the browser leaves the page, so the click is not lost.
 *
 * For the site's own scripts: `window.RekindleLanding.ready` resolves to the
 * runtime (see docs/page-runtime.md); every effect is also dispatched on
 * `document` as a `rekindle:effect` CustomEvent, and kept in
 * `RekindleLanding.effects` (those of start-up included); `RekindleLanding.state()`
 * reads consent, segments, journeys and the next deadline.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  var config = (script && script.dataset) || {};
  var NAVIGATION_WAIT_MS = 1000;
  var PURPOSES = ['analytics', 'personalize', 'marketing.email', 'marketing.sms', 'marketing.push'];

  var effects = [];
  var instance = null;

  function warn(message) {
    if (window.console) console.warn('rekindle landing: ' + message);
  }

  /**
   * Reads the runtime's state: consent per purpose, segments, journeys,
   * profile, next deadline (rk.state(): no history, so it stays cheap on a
   * device with a long one).
   */
  function state(rk) {
    rk = rk || instance;
    if (!rk) return null;
    var held;
    try {
      held = rk.state();
    } catch (err) {
      return null;
    }
    var consent = {};
    var stored = held.consent || {};
    PURPOSES.forEach(function (p) {
      var c = stored[p] || {};
      consent[p] = { state: c.state || 'pending', decided: Boolean(c.decided) };
    });
    var journeys = held.journeys || {};
    return {
      deviceId: rk.deviceId,
      consent: consent,
      segments: rk.segments(),
      journeys: { active: journeys.active || [], lastEnd: journeys.lastEnd || {} },
      identities: (held.profile && held.profile.identities) || {},
      attributes: attributesOf(held.profile && held.profile.fields),
      nextDeadline: rk.nextDeadline(),
      clock: held.clock,
    };
  }

  function attributesOf(fields) {
    var out = {};
    Object.keys(fields || {}).forEach(function (key) {
      if (key.indexOf('attributes.') === 0 && fields[key].value !== null) out[key.slice(11)] = fields[key].value;
    });
    return out;
  }

  // ---- consent banner ---------------------------------------------------

  function bannerPurposes(banner) {
    return Array.prototype.map.call(banner.querySelectorAll('[data-rk-consent]'), function (box) {
      return box.getAttribute('data-rk-consent');
    });
  }

  // The element that opened the banner ("Privacy choices"), which gets the focus back.
  var opener = null;

  // `focus`: the visitor asked for it, so the focus moves into it (not when it
  // appears by itself at load: that would take the focus from the page).
  function showBanner(banner, rk, focus) {
    var s = state(rk);
    Array.prototype.forEach.call(banner.querySelectorAll('input[data-rk-consent]'), function (box) {
      var c = s && s.consent[box.getAttribute('data-rk-consent')];
      box.checked = Boolean(c && c.state === 'granted');
    });
    banner.hidden = false;
    // The fixed banner covers the bottom of the window: what the keyboard
    // focuses is scrolled above it.
    document.documentElement.style.scrollPaddingBottom = banner.offsetHeight + 'px';
    if (focus) {
      var first = banner.querySelector('input, button');
      if (first) first.focus();
    }
  }

  function hideBanner(banner) {
    banner.hidden = true;
    document.documentElement.style.scrollPaddingBottom = '';
    if (opener && banner.contains(document.activeElement)) opener.focus();
    opener = null;
  }

  function saveChoices(banner, rk, choice) {
    var purposes = {};
    Array.prototype.forEach.call(banner.querySelectorAll('input[data-rk-consent]'), function (box) {
      var purpose = box.getAttribute('data-rk-consent');
      var granted = choice === 'all' ? true : choice === 'none' ? false : box.checked;
      box.checked = granted;
      purposes[purpose] = granted ? 'granted' : 'denied';
    });
    hideBanner(banner);
    return rk.setConsent(purposes).then(function (result) {
      if (!result.ok) warn('consent was not saved: ' + JSON.stringify(result.errors));
      document.dispatchEvent(new CustomEvent('rekindle:consent', { detail: purposes }));
    });
  }

  function wireConsent(rk) {
    var banner = document.querySelector('[data-rk-consent-banner]');
    if (!banner) return;
    var s = state(rk);
    var undecided = bannerPurposes(banner).some(function (p) {
      return !(s && s.consent[p] && s.consent[p].decided);
    });
    if (undecided) showBanner(banner, rk);
    banner.addEventListener('click', function (event) {
      var target = event.target.closest('[data-rk-consent-accept-all], [data-rk-consent-reject-all], [data-rk-consent-save]');
      if (!target) return;
      event.preventDefault();
      var choice = target.hasAttribute('data-rk-consent-accept-all') ? 'all'
        : target.hasAttribute('data-rk-consent-reject-all') ? 'none' : 'chosen';
      saveChoices(banner, rk, choice).catch(function (err) { warn('consent: ' + err.message); });
    });
    // Escape closes it undecided: what was not decided stays pending (nothing is sent for it).
    banner.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') hideBanner(banner);
    });
    document.addEventListener('click', function (event) {
      var link = event.target.closest('[data-rk-consent-open]');
      if (!link) return;
      event.preventDefault();
      opener = link;
      showBanner(banner, rk, true);
    });
  }

  // ---- sign-up forms ----------------------------------------------------

  function wireIdentifyForms(rk) {
    Array.prototype.forEach.call(document.querySelectorAll('form[data-rk-identify]'), function (form) {
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        if (typeof form.reportValidity === 'function' && !form.reportValidity()) return;
        var work = [];
        var attributes = {};
        var consent = {};
        Array.prototype.forEach.call(form.querySelectorAll('[data-rk-identity]'), function (input) {
          var value = input.value.trim();
          if (value !== '') work.push(rk.identify(input.getAttribute('data-rk-identity'), value));
        });
        Array.prototype.forEach.call(form.querySelectorAll('[data-rk-attribute]'), function (input) {
          var value = input.value.trim();
          if (value !== '') attributes[input.getAttribute('data-rk-attribute')] = value;
        });
        Array.prototype.forEach.call(form.querySelectorAll('input[data-rk-consent]'), function (box) {
          if (box.checked) consent[box.getAttribute('data-rk-consent')] = 'granted';
        });
        if (Object.keys(attributes).length > 0) work.push(rk.setAttributes(attributes));
        if (Object.keys(consent).length > 0) work.push(rk.setConsent(consent));
        Promise.all(work).then(function (results) {
          var failed = results.filter(function (r) { return !r.ok; });
          if (failed.length > 0) {
            warn('the form was not fully saved: ' + JSON.stringify(failed[0].errors));
            return;
          }
          var done = form.querySelector('[data-rk-identify-done]');
          if (done) done.hidden = false;
          document.dispatchEvent(new CustomEvent('rekindle:identified', { detail: { form: form } }));
          return rk.flush();
        }).catch(function (err) { warn('the form was not saved: ' + err.message); });
      });
    });
  }

  // ---- links that must not lose their click ------------------------------

  function wireNavigation(rk) {
    document.addEventListener('click', function (event) {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      var link = event.target.closest('a[href]');
      if (!link || (link.target && link.target !== '_self')) return;
      var tracked = link.closest('.rk-tile[data-rk-rendered]') || link.closest('[data-rk-event]');
      if (!tracked) return;
      var href = link.href;
      event.preventDefault();
      var timeout = new Promise(function (resolve) { setTimeout(resolve, NAVIGATION_WAIT_MS); });
      Promise.race([rk.flush().catch(function () {}), timeout]).then(function () { location.assign(href); });
    });
  }

  // ---- start ------------------------------------------------------------

  function start() {
    if (!window.Rekindle || typeof window.Rekindle.createRekindle !== 'function') {
      return Promise.reject(new Error('load rekindle.global.js before landing.js'));
    }
    var endpoint = config.endpoint || location.origin;
    var options = {
      endpoint: endpoint,
      artifactUrl: config.artifactUrl || endpoint.replace(/\/+$/, '') + '/v1/artifact',
      on: {
        '*': function (effect) {
          effects.push(effect);
          if (effects.length > 200) effects.shift();
          document.dispatchEvent(new CustomEvent('rekindle:effect', { detail: effect }));
        },
      },
      onError: function (err) { warn(err.message); },
    };
    if (config.writeKey) options.writeKey = config.writeKey;
    return window.Rekindle.createRekindle(options).then(function (rk) {
      instance = rk;
      wireConsent(rk);
      wireIdentifyForms(rk);
      wireNavigation(rk);
      document.documentElement.setAttribute('data-rk-ready', '');
      document.dispatchEvent(new CustomEvent('rekindle:ready', { detail: rk }));
      return rk;
    });
  }

  var ready = start();
  ready.catch(function (err) { warn('Rekindle did not start: ' + err.message); });

  window.RekindleLanding = { ready: ready, effects: effects, state: state };
}());
