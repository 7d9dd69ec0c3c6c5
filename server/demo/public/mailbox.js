// The demo mailbox: lists what reached the SMTP sink and the SMS webhook
// (GET /mailbox/api/messages), newest first, refreshed every 2 seconds. Email
// HTML is shown in a sandboxed frame: no script in it runs.
(function () {
  'use strict';

  var REFRESH_MS = 2000;
  var selected = null;
  var lastJson = '';
  var list = document.getElementById('mb-list');
  var detail = document.getElementById('mb-detail');
  var live = document.getElementById('mb-live');

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    for (var i = 2; i < arguments.length; i += 1) {
      var child = arguments[i];
      if (child !== null && child !== undefined) node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function time(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function meta(rows) {
    var dl = el('dl', { class: 'mb-meta' });
    rows.forEach(function (r) {
      if (!r[1]) return;
      dl.appendChild(el('dt', null, r[0]));
      dl.appendChild(el('dd', null, r[2] ? el('code', null, r[1]) : r[1]));
    });
    return dl;
  }

  function showEmpty() {
    detail.replaceChildren(el('div', { class: 'mb-empty' },
      el('h2', null, 'No messages yet'),
      el('p', null, 'To receive one, in the store:'),
      el('ol', null,
        el('li', null, 'accept the privacy choices (or at least analytics and email);'),
        el('li', null, 'leave an email address (and a mobile number for the SMS) in “Stay in touch”;'),
        el('li', null, 'add something to the cart and close the tab.')),
      el('p', null, 'The cart counts as abandoned after 30 seconds; the email follows 1 minute later, the SMS 1 minute after that. They are sent by the server, so the tab can stay closed.')));
  }

  function showMessage(m) {
    if (m.channel === 'sms') {
      detail.replaceChildren(
        el('h2', null, 'Text message to ' + m.to.join(', ')),
        meta([['Received', time(m.at)], ['Journey', m.journey, true], ['Template', m.template, true], ['Dispatch', m.dispatch, true]]),
        el('div', { class: 'mb-bubble', 'data-message-text': '' }, m.text));
      return;
    }
    var body;
    if (m.html) {
      body = el('iframe', { class: 'mb-frame', title: 'Email body', sandbox: 'allow-popups allow-popups-to-escape-sandbox', referrerpolicy: 'no-referrer' });
      body.srcdoc = '<!doctype html><meta charset="utf-8"><base target="_blank"><body style="margin:16px">' + m.html;
    } else {
      body = el('pre', { class: 'mb-text' }, m.text);
    }
    detail.replaceChildren(
      el('h2', { 'data-message-subject': '' }, m.subject || '(no subject)'),
      meta([['From', m.from], ['To', m.to.join(', ')], ['Received', time(m.at)], ['Journey', m.journey, true], ['Dispatch', m.dispatch, true]]),
      body);
  }

  function render(messages) {
    if (messages.length === 0) {
      list.replaceChildren();
      selected = null;
      showEmpty();
      return;
    }
    if (!messages.some(function (m) { return m.id === selected; })) selected = messages[0].id;
    list.replaceChildren.apply(list, messages.map(function (m) {
      var item = el('li', { class: 'mb-item', 'data-channel': m.channel, 'aria-selected': String(m.id === selected), tabindex: '0' },
        el('span', { class: 'mb-badge' + (m.channel === 'sms' ? ' mb-badge--sms' : '') }, m.channel === 'sms' ? 'SMS' : 'EMAIL'),
        el('span', { class: 'mb-item__who' }, m.to.join(', ')),
        el('span', { class: 'mb-item__time' }, time(m.at)),
        el('span', { class: 'mb-item__what' }, m.channel === 'sms' ? m.text : m.subject));
      item.addEventListener('click', function () { selected = m.id; render(messages); });
      item.addEventListener('keydown', function (e) { if (e.key === 'Enter') { selected = m.id; render(messages); } });
      return item;
    }));
    showMessage(messages.filter(function (m) { return m.id === selected; })[0]);
  }

  function refresh() {
    fetch('/mailbox/api/messages', { cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) return res.json().then(function (b) { throw new Error(b.error || ('HTTP ' + res.status)); });
        return res.json();
      })
      .then(function (body) {
        live.className = 'mb-live';
        live.textContent = 'live';
        if (body.smtp && body.smtp.port) {
          document.getElementById('mb-about').textContent = 'Emails that reached the demo\'s SMTP sink (' + body.smtp.host + ':' + body.smtp.port
            + ') and text messages posted to its SMS webhook. Nothing here left this machine.';
        }
        var json = JSON.stringify(body.messages);
        if (json !== lastJson) {
          lastJson = json;
          render(body.messages);
        }
        document.body.setAttribute('data-count', String(body.messages.length));
      })
      .catch(function (err) {
        live.className = 'mb-live mb-live--off';
        live.textContent = err.message;
      })
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }

  document.getElementById('mb-clear').addEventListener('click', function () {
    fetch('/mailbox/api/messages', { method: 'DELETE' }).then(function () { lastJson = ''; });
  });

  showEmpty();
  refresh();
}());
