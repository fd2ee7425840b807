// coupler's pages: open dialogs htmx loads into #modal, show a dialog's refusal inside it, close them, and "select
// all" on lists. No framework.
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
  // A dialog that posts its form gets its refusal (4xx) back as the dialog itself, with what the user typed kept:
  // swap it in, where htmx swaps only successes by default. A whole page (an unexpected error) is not swapped. The
  // same for a dialog shown as a page of its own (its .dialog-body).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var status = detail.xhr.status;
    var fragment = !/^\s*<!doctype/i.test(detail.xhr.responseText || "");
    if (status >= 400 && status < 500 && fragment && detail.target instanceof Element && detail.target.closest("dialog, .dialog-body")) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });
  // ... and the focus goes to the refusal, so that a screen reader reads it and the user goes on from there.
  document.addEventListener("htmx:afterSettle", function () {
    var problem = document.querySelector(".dialog-body [role=alert]:not([data-shown])");
    if (problem) {
      problem.setAttribute("data-shown", "");
      problem.setAttribute("tabindex", "-1");
      problem.focus();
    }
  });
  // Enter in a dialog's search box searches (it would otherwise submit the dialog's form).
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (event.key === "Enter" && box instanceof HTMLInputElement && box.type === "search" && box.closest("dialog")) {
      event.preventDefault();
      if (window.htmx) { window.htmx.trigger(box, "search"); }
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
