// coupler's pages: open dialogs htmx loads into #modal, close them, and "select all" on lists. No framework.
(function () {
  "use strict";
  function modal() { return document.getElementById("modal"); }
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = modal();
    if (dialog && event.detail.target === dialog && !dialog.open) {
      dialog.showModal();
      var first = dialog.querySelector("[autofocus], input:not([type=hidden]), select, button");
      if (first) { first.focus(); }
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof Element && target.closest("[data-close]")) {
      var dialog = target.closest("dialog");
      if (dialog) { event.preventDefault(); dialog.close(); dialog.innerHTML = ""; }
    }
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && box.dataset.selectAll) {
      document.querySelectorAll('input[name="' + box.dataset.selectAll + '"]').forEach(function (other) {
        other.checked = box.checked;
      });
    }
  });
})();
