/* "Copiar" buttons: put the text of the element named by data-copy on the clipboard. */
(function () {
  'use strict';
  Array.prototype.forEach.call(document.querySelectorAll('button.copy[data-copy]'), function (button) {
    var source = document.getElementById(button.getAttribute('data-copy'));
    if (!source || !navigator.clipboard) {
      button.hidden = true;     /* nothing to copy with: the text is there to select */
      return;
    }
    var label = button.textContent;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = '✓';
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });
}());
