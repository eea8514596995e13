// "Leave this site" (GOV.UK's "Exit this page" behaviour), an enhancement of a plain link to
// /follow-up/leave, which works without JavaScript. With JavaScript: the page is blanked at once
// (nothing stays on screen while the browser leaves), this page is replaced in the tab's history
// (Back does not come back to it), and pressing Shift three times within two seconds does the same.
"use strict";
(function () {
  var leaving = false;

  function leave(href) {
    if (leaving) { return; }
    leaving = true;
    document.title = "";
    if (document.body) {
      document.body.innerHTML = "";
      document.body.style.background = "#fff";
    }
    window.location.replace(href);
  }

  function exitHref() {
    var link = document.getElementById("quick-exit");
    return link ? link.href : null;
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a.quick-exit") : null;
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    leave(link.href);
  });

  var presses = [];
  document.addEventListener("keyup", function (event) {
    if (event.key !== "Shift") { presses = []; return; }
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t < 2000; });
    presses.push(now);
    var href = exitHref();
    if (presses.length >= 3 && href) { leave(href); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift") { presses = []; }
  });

  // A page brought back from the back-forward cache after leaving shows nothing.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && leaving) { document.body.innerHTML = ""; }
  });
})();
