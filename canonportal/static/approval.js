/* A request's approval: the new total as the approver lowers amounts or drops invoices.
 *
 * Progressive enhancement of a form the server validates again ("Aprobar y pagar"):
 * each kept invoice adds its amount, a USD invoice at the day's rate (data-rate) as
 * SALDOS converts it (money.js); an amount that is not one, or more than was requested,
 * adds nothing and is marked, as the server would refuse it (and say why).
 */
(function () {
  'use strict';

  var form = document.getElementById('approve-form');
  var output = document.getElementById('approve-total');
  var M = window.CanonMoney;
  if (!form || !output || !M) {
    return;
  }
  var rate = M.parseRate(form.getAttribute('data-rate'));

  var lines = Array.prototype.map.call(form.querySelectorAll('tr.approve-line'), function (row) {
    return {
      row: row,
      box: row.querySelector('input[type=checkbox]'),
      amount: row.querySelector('input[type=text]'),
      usd: row.getAttribute('data-currency') === 'USD',
      requested: M.parseCents(row.getAttribute('data-requested'))
    };
  });

  /* The line's MXN in cents (0n when dropped or when the server would refuse its amount,
     which is then marked); null for a USD invoice on a day without a usable rate. */
  function lineMxn(line) {
    var cents = M.parseCents(line.amount.value);
    var wrong = cents === null || cents <= 0n || cents > line.requested;
    if (line.box.checked && wrong) {
      line.amount.setAttribute('aria-invalid', 'true');
    } else {
      line.amount.removeAttribute('aria-invalid');
    }
    if (!line.box.checked || wrong) {
      return 0n;
    }
    if (!line.usd) {
      return cents;
    }
    return rate === null ? null : M.usdToMxn(cents, rate);
  }

  function update() {
    var total = 0n;
    var countable = true;
    lines.forEach(function (line) {
      var mxn = lineMxn(line);
      if (mxn === null) {
        countable = false;
      } else {
        total += mxn;
      }
    });
    output.value = countable ? M.money(total, 'MXN') : '\u2014';
  }

  /* The server's message on a line goes once its amount is typed again. */
  function forgetServerError(line) {
    var note = line.row.querySelector('.field-error');
    if (note) {
      note.parentNode.removeChild(note);
      line.amount.removeAttribute('aria-describedby');
    }
  }

  lines.forEach(function (line) {
    line.box.addEventListener('change', update);
    line.amount.addEventListener('input', function () {
      if (line.amount.value.trim() && !line.box.checked) {
        line.box.checked = true;
      }
      forgetServerError(line);
      update();
    });
  });
}());
