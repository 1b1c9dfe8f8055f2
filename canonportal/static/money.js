/* Money as the portal computes it, for the pages that total amounts as they are typed
 * (SALDOS, a request's approval): integer cents (BigInt), the rate in ten-thousandths,
 * exactly as canonportal.money does, so a total shown here is the one the server computes.
 *   USD -> MXN: usd * rate truncated to the cent (as the ERP and the manual do)
 *   MXN -> USD: mxn / rate rounded half up to the cent
 * The server re-validates everything; nothing here is trusted.
 */
(function () {
  'use strict';

  if (typeof BigInt === 'undefined') {
    return;
  }
  /* An amount as people write it: 1234.5, 1,234.50, .5 (a leading $ and spaces aside). */
  var AMOUNT = /^(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?$|^\.[0-9]+$/;

  /* "1,234.5" -> 123450n; null when empty, negative, malformed or > 2 decimals. */
  function parseCents(text) {
    var body = (text || '').replace(/\s+/g, '');
    if (body.charAt(0) === '$') {
      body = body.slice(1);
    }
    if (!body || body.length > 32 || !AMOUNT.test(body)) {
      return null;
    }
    body = body.replace(/,/g, '');
    var parts = body.split('.');
    var whole = parts[0] || '0';
    var fraction = (parts[1] || '').replace(/0+$/, '');
    if (fraction.length > 2) {
      return null;
    }
    while (fraction.length < 2) {
      fraction += '0';
    }
    return BigInt(whole) * 100n + BigInt(fraction);
  }

  /* "18.8869" -> 188869n (ten-thousandths); null if absent. */
  function parseRate(text) {
    if (!text || !/^[0-9]+(\.[0-9]{1,4})?$/.test(text)) {
      return null;
    }
    var parts = text.split('.');
    var fraction = (parts[1] || '');
    while (fraction.length < 4) {
      fraction += '0';
    }
    return BigInt(parts[0]) * 10000n + BigInt(fraction);
  }

  function usdToMxn(usdCents, rate) {
    /* cents × ten-thousandths, back to cents: truncated (BigInt division of positives) */
    return (usdCents * rate) / 10000n;
  }

  function mxnToUsd(mxnCents, rate) {
    /* round(mxn / rate) in cents = floor((2 * mxn * 10000 + rate) / (2 * rate)) */
    return (2n * mxnCents * 10000n + rate) / (2n * rate);
  }

  /* 123450n -> "1234.50" */
  function plain(cents) {
    var text = cents.toString();
    while (text.length < 3) {
      text = '0' + text;
    }
    return text.slice(0, -2) + '.' + text.slice(-2);
  }

  /* 123450n -> "$1,234.50 MXN" (or another currency), as canonportal.formatting prints it. */
  function money(cents, currency) {
    var text = plain(cents);
    var whole = text.slice(0, -3);
    var grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return '$' + grouped + text.slice(-3) + ' ' + (currency || 'MXN');
  }

  window.CanonMoney = {
    AMOUNT: AMOUNT, parseCents: parseCents, parseRate: parseRate, usdToMxn: usdToMxn,
    mxnToUsd: mxnToUsd, plain: plain, money: money
  };
}());
