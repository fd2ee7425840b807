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
  // "Select all N matching" (records list): offered once the page's select-all box is ticked; chosen, the actions
  // run on the list's search and filter (scope=all) instead of the ticked rows.
  function matching(all) {
    var offer = document.getElementById("select-matching");
    var scope = document.querySelector("[data-scope]");
    if (!offer || !scope) { return; }
    scope.value = all ? "all" : "";
    offer.querySelector("[data-page-selected]").hidden = all;
    offer.querySelector("[data-all-selected]").hidden = !all;
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && box.dataset.selectAll) {
      document.querySelectorAll('input[name="' + box.dataset.selectAll + '"]').forEach(function (other) {
        other.checked = box.checked;
      });
      var offer = document.getElementById("select-matching");
      if (offer) { offer.hidden = !box.checked; matching(false); }
    } else if (box instanceof HTMLInputElement && box.name === "ref" && !box.checked) {
      var all = document.querySelector("[data-select-all]");
      var shown = document.getElementById("select-matching");
      if (all) { all.checked = false; }
      if (shown) { shown.hidden = true; matching(false); }
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    if (target.closest("[data-select-matching]")) { matching(true); }
    if (target.closest("[data-clear-matching]")) {
      matching(false);
      document.querySelectorAll('#selection input[type="checkbox"]').forEach(function (box) { box.checked = false; });
      document.getElementById("select-matching").hidden = true;
    }
  });
})();
