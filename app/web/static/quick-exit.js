// "Leave this site": with JavaScript, replace this page in the tab's history as well, so that
// the browser's Back button does not bring it up again. Without JavaScript it is a plain link.
"use strict";
document.addEventListener("click", function (event) {
  var link = event.target instanceof Element ? event.target.closest("a.quick-exit") : null;
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
    return;
  }
  event.preventDefault();
  window.location.replace(link.href);
});
