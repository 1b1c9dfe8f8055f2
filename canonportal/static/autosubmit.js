// Submits the signed form to the bank as soon as the page loads; the button
// stays for browsers without JavaScript.
(function () {
  'use strict';
  var form = document.querySelector('form.auto-submit');
  if (form) { form.submit(); }
}());
