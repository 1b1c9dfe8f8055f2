/* ESTADOS DE CUENTA: the period form says, as the dates change, what the server would
 * refuse for being too long (canonportal.views.statements.validate_range checks it again). */
(function () {
  'use strict';

  var form = document.querySelector('form.range-form');
  if (!form) {
    return;
  }
  var start = document.getElementById('desde');
  var end = document.getElementById('hasta');
  var years = parseInt(form.getAttribute('data-years'), 10);
  var message = form.getAttribute('data-msg-too-long');
  var ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

  /* "2026-12-07" → "2021-12-07": the same day `years` earlier (28 February for a 29th). */
  function yearsBefore(text) {
    var parts = ISO.exec(text);
    if (!parts) {
      return null;
    }
    var year = parseInt(parts[1], 10) - years;
    var day = parts[2] === '02' && parts[3] === '29' ? '28' : parts[3];
    return String(year).padStart(4, '0') + '-' + parts[2] + '-' + day;
  }

  function check() {
    var earliest = yearsBefore(end.value);
    var tooLong = earliest !== null && ISO.test(start.value) && start.value < earliest;
    var note = document.getElementById('desde-too-long');
    if (tooLong && !note) {
      note = document.createElement('span');
      note.id = 'desde-too-long';
      note.className = 'field-error';
      note.textContent = message;
      start.parentNode.appendChild(note);
    } else if (!tooLong && note) {
      note.parentNode.removeChild(note);
    }
    if (tooLong) {
      start.setAttribute('aria-invalid', 'true');
      start.setAttribute('aria-describedby', 'desde-too-long range-limit');
    } else if (!document.getElementById('desde-error')) {
      start.removeAttribute('aria-invalid');
      start.setAttribute('aria-describedby', 'range-limit');
    }
  }

  start.addEventListener('change', check);
  end.addEventListener('change', check);
  start.addEventListener('input', check);
  end.addEventListener('input', check);
}());
