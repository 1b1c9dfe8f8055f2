/* SALDOS: live amounts and total while choosing the invoices to pay.
 *
 * Progressive enhancement of a form that works without JavaScript ("Calcular"
 * asks the server). The arithmetic is money.js's, which mirrors canonportal.money
 * exactly, so the total shown here is the one the server computes.
 * The server re-validates everything; nothing here is trusted.
 */
(function () {
  'use strict';

  var form = document.getElementById('saldos-form');
  var M = window.CanonMoney;
  if (!form || !M) {
    return;
  }
  var output = document.getElementById('saldos-total');
  var AMOUNT = M.AMOUNT;
  var parseCents = M.parseCents;
  var plain = M.plain;
  var rate = M.parseRate(form.getAttribute('data-rate'));

  function usdToMxn(usdCents) {
    return M.usdToMxn(usdCents, rate);
  }

  function mxnToUsd(mxnCents) {
    return M.mxnToUsd(mxnCents, rate);
  }

  function money(cents) {
    return M.money(cents, 'MXN');
  }

  function rowParts(row) {
    return {
      row: row,
      box: row.querySelector('input[type=checkbox]'),
      mxn: row.querySelector('input.mxn'),
      usd: row.querySelector('input.usd'),
      edited: row.querySelector('input.edited'),
      leftMxn: parseCents(row.getAttribute('data-left-mxn')),
      leftUsd: parseCents(row.getAttribute('data-left-usd'))
    };
  }

  var rows = Array.prototype.map.call(form.querySelectorAll('tr.invoice-row'), rowParts);
  var offPage = parseCents(form.getAttribute('data-offpage-total')) || 0n;

  /* What a ticked row pays, {mxn, usd} in cents (usd null for an MXN invoice), exactly as
   * the server computes it (canonportal.payments.selection.validate_line); null when the
   * row is not ticked or the server would refuse it. */
  function rowAmounts(parts) {
    if (!parts.box || !parts.box.checked) {
      return null;
    }
    var mxnText = parts.mxn ? parts.mxn.value.trim() : '';
    if (!parts.usd) {
      if (!mxnText) {
        return parts.leftMxn === null ? null : {mxn: parts.leftMxn, usd: null};
      }
      var amount = parseCents(mxnText);
      return amount === null || amount <= 0n || amount > parts.leftMxn ? null : {mxn: amount, usd: null};
    }
    if (rate === null || parts.leftUsd === null) {
      return null;
    }
    var usdText = parts.usd.value.trim();
    var source = parts.edited ? parts.edited.value : '';
    if (source !== 'mxn' && source !== 'usd') {
      source = mxnText || !usdText ? 'mxn' : 'usd';
    }
    if ((source === 'mxn' && !mxnText) || (source === 'usd' && !usdText)) {
      return {mxn: usdToMxn(parts.leftUsd), usd: parts.leftUsd};
    }
    if (source === 'usd') {
      var usd = parseCents(usdText);
      return usd === null || usd <= 0n || usd > parts.leftUsd ? null : {mxn: usdToMxn(usd), usd: usd};
    }
    var mxn = parseCents(mxnText);
    if (mxn === null || mxn <= 0n || mxn > usdToMxn(parts.leftUsd) || mxnToUsd(mxn) <= 0n) {
      return null;
    }
    return {mxn: mxn, usd: mxnToUsd(mxn)};
  }

  function rowMxn(parts) {
    var amounts = rowAmounts(parts);
    return amounts ? amounts.mxn : 0n;
  }

  /* "3 facturas": the forms come from the server's catalog (one for 1, one for the rest). */
  var countOne = form.getAttribute('data-count-one') || '{n}';
  var countOther = form.getAttribute('data-count-other') || '{n}';
  var offPageCount = parseInt(form.getAttribute('data-offpage-count') || '0', 10) || 0;
  var countOutput = document.getElementById('saldos-count');

  function countText(count) {
    return (count === 1 ? countOne : countOther).replace('{n}', String(count));
  }

  var bankButtons = Array.prototype.slice.call(form.querySelectorAll('button.bank'));

  function updateTotal() {
    var total = offPage;
    var count = offPageCount;
    rows.forEach(function (parts) {
      var amount = rowMxn(parts);
      total += amount;
      count += amount > 0n ? 1 : 0;
    });
    output.value = money(total);
    if (countOutput) {
      countOutput.textContent = countText(count);
    }
    setBanks(total > 0n);
  }

  /* The bank buttons wait until something valid is ticked (the server checks again). */
  function setBanks(enabled) {
    bankButtons.forEach(function (button) { button.disabled = !enabled; });
  }

  /* The server's message for a wrong amount, shown on its row as it is typed
     (canonportal.payments.selection.parse_typed and validate_line decide the same). */
  var MESSAGES = {
    number: form.getAttribute('data-msg-number'),
    positive: form.getAttribute('data-msg-positive'),
    decimals: form.getAttribute('data-msg-decimals'),
    over: form.getAttribute('data-msg-over')
  };

  function amountProblem(text, limit, currency) {
    var body = text.replace(/\s+/g, '');
    if (!body) {
      return null;
    }
    var negative = false;
    if (body.charAt(0) === '-') { negative = true; body = body.slice(1); }
    if (body.charAt(0) === '$') { body = body.slice(1); }
    if (body.charAt(0) === '-') { negative = true; body = body.slice(1); }
    if (body.length > 32 || !AMOUNT.test(body)) {
      return MESSAGES.number;
    }
    if ((body.split('.')[1] || '').replace(/0+$/, '').length > 2) {
      return MESSAGES.decimals;
    }
    var cents = parseCents(body);
    if (negative || cents === null || cents <= 0n) {
      return MESSAGES.positive;
    }
    if (limit !== null && cents > limit) {
      return MESSAGES.over.replace('{amount}', money(limit).replace(' MXN', ' ' + currency));
    }
    return null;
  }

  function showProblem(input, message) {
    var id = input.id + '-error';
    var note = document.getElementById(id);
    if (!message) {
      if (note) { note.parentNode.removeChild(note); }
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
      return;
    }
    if (!note) {
      note = document.createElement('p');
      note.className = 'field-error';
      note.id = id;
      input.parentNode.appendChild(note);
    }
    note.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
  }

  function checkRow(parts) {
    if (parts.mxn) {
      var mxnLimit = parts.usd ? (rate === null || parts.leftUsd === null ? null : usdToMxn(parts.leftUsd))
                               : parts.leftMxn;
      var source = parts.edited ? parts.edited.value : '';
      showProblem(parts.mxn, parts.usd && source === 'usd' ? null
                  : amountProblem(parts.mxn.value, mxnLimit, 'MXN'));
    }
    if (parts.usd) {
      var usdSource = parts.edited ? parts.edited.value : '';
      showProblem(parts.usd, usdSource === 'usd' ? amountProblem(parts.usd.value, parts.leftUsd, 'USD') : null);
    }
  }

  function setEdited(parts, which) {
    if (parts.edited) {
      parts.edited.value = which;
    }
  }

  function markSelected(parts) {
    parts.row.classList.toggle('selected', !!(parts.box && parts.box.checked));
  }

  function onTick(parts) {
    if (parts.box.checked) {
      if (parts.mxn && parts.leftMxn !== null) {
        parts.mxn.value = plain(parts.leftMxn);
      }
      if (parts.usd && parts.leftUsd !== null) {
        parts.usd.value = plain(parts.leftUsd);
      }
    } else {
      if (parts.mxn) {
        parts.mxn.value = '';
      }
      if (parts.usd) {
        parts.usd.value = '';
      }
    }
    setEdited(parts, '');
    markSelected(parts);
    checkRow(parts);
    updateTotal();
  }

  function ensureTicked(parts, typed) {
    if (typed && parts.box && !parts.box.checked && !parts.box.disabled) {
      parts.box.checked = true;
      markSelected(parts);
    }
  }

  function onMxnInput(parts) {
    var text = parts.mxn.value.trim();
    ensureTicked(parts, text);
    setEdited(parts, 'mxn');
    if (parts.usd && rate !== null) {
      var mxn = parseCents(text);
      parts.usd.value = mxn === null || mxn === 0n ? '' : plain(mxnToUsd(mxn));
    }
    checkRow(parts);
    updateTotal();
  }

  function onUsdInput(parts) {
    var text = parts.usd.value.trim();
    ensureTicked(parts, text);
    setEdited(parts, 'usd');
    if (parts.mxn && rate !== null) {
      var usd = parseCents(text);
      parts.mxn.value = usd === null || usd === 0n ? '' : plain(usdToMxn(usd));
    }
    checkRow(parts);
    updateTotal();
  }

  rows.forEach(function (parts) {
    if (parts.box) {
      parts.box.addEventListener('change', function () { onTick(parts); });
    }
    if (parts.mxn) {
      parts.mxn.addEventListener('input', function () { onMxnInput(parts); });
    }
    if (parts.usd) {
      parts.usd.addEventListener('input', function () { onUsdInput(parts); });
    }
  });
  /* The total on load is the server's; it follows the rows from the first change.
     The bank buttons start enabled only when the server's selection has something. */
  setBanks(offPage > 0n || rows.some(function (parts) { return rowMxn(parts) > 0n; }));

  /* "¿Desea continuar con el pago?": a bank button opens the dialog; ACEPTAR posts
     the selection to the pay view with confirmado=1 (the server recomputes the total). */
  var dialog = document.getElementById('pay-dialog');
  function hidden(name, value) {
    var input = form.querySelector('input[type=hidden][name="' + name + '"].from-dialog');
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.className = 'from-dialog';
      form.appendChild(input);
    }
    input.value = value;
  }
  function usdMoney(cents) {
    return money(cents).replace(' MXN', ' USD');
  }

  /* The invoices and amounts the payment will take: the ticked rows of this page, then
     those of other pages (their amounts travel as the server computed them). */
  function dialogLines() {
    var lines = [];
    rows.forEach(function (parts) {
      var amounts = rowAmounts(parts);
      if (amounts && amounts.mxn > 0n) {
        lines.push([parts.row.getAttribute('data-key'), amounts.mxn, amounts.usd]);
      }
    });
    Array.prototype.forEach.call(form.querySelectorAll('.off-page input[name=pick]'), function (pick) {
      var key = pick.value;
      var field = function (prefix) {
        var input = form.querySelector('.off-page input[name="' + prefix + key.replace(/["\\]/g, '\\$&') + '"]');
        return input ? parseCents(input.value) : null;
      };
      var mxn = field('mxn-');
      if (mxn !== null && mxn > 0n) {
        lines.push([key, mxn, field('usd-')]);
      }
    });
    return lines;
  }

  function fillDialog(button) {
    var body = document.getElementById('pay-dialog-lines');
    var lines = dialogLines();
    var total = 0n;
    body.textContent = '';
    lines.forEach(function (line) {
      /* Two columns fit a phone: a USD invoice's dollars go under its pesos. */
      var tr = document.createElement('tr');
      var key = document.createElement('td');
      key.textContent = line[0];
      var amount = document.createElement('td');
      amount.className = 'num';
      amount.textContent = money(line[1]);
      if (line[2] !== null) {
        var usd = document.createElement('span');
        usd.className = 'usd';
        usd.textContent = usdMoney(line[2]);
        amount.appendChild(usd);
      }
      tr.appendChild(key);
      tr.appendChild(amount);
      body.appendChild(tr);
      total += line[1];
    });
    document.getElementById('pay-dialog-count').textContent = countText(lines.length);
    document.getElementById('pay-dialog-total').textContent = money(total);
    document.getElementById('pay-dialog-bank').textContent = button.textContent;
    return total;
  }

  if (dialog && typeof dialog.showModal === 'function') {
    var chosen = null;
    Array.prototype.forEach.call(form.querySelectorAll('button.bank'), function (button) {
      button.addEventListener('click', function (event) {
        /* Nothing valid ticked: no "$0.00 MXN" dialog, the server says what is wrong. */
        if (fillDialog(button) <= 0n) {
          return;
        }
        event.preventDefault();
        chosen = button;
        dialog.showModal();
      });
    });
    document.getElementById('pay-dialog-cancel').addEventListener('click', function () {
      dialog.close();
    });
    document.getElementById('pay-dialog-accept').addEventListener('click', function () {
      if (!chosen) { return; }
      hidden('bank', chosen.value);
      hidden('confirmado', '1');
      form.action = chosen.getAttribute('formaction');
      dialog.close();
      form.submit();
    });
  }
}());
