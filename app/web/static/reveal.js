// Conditional reveals (GOV.UK's pattern): a radio or checkbox with data-reveals="ID" shows the
// element ID while it is chosen. The showing is done by CSS (:checked), without JavaScript; this
// script only tells assistive technology, with aria-controls and aria-expanded on the control,
// kept in step as the choice changes. (aria-expanded is not in ARIA 1.2's list for radios, but
// screen readers announce it; GOV.UK keeps it for that reason: docs/reporters.md.)
"use strict";
(function () {
  var controls = Array.prototype.slice.call(document.querySelectorAll("input[data-reveals]"));
  function sync() {
    controls.forEach(function (input) {
      input.setAttribute("aria-expanded", input.checked ? "true" : "false");
    });
  }
  controls.forEach(function (input) {
    input.setAttribute("aria-controls", input.getAttribute("data-reveals"));
    var group = input.form && input.name ? input.form.querySelectorAll("input[name='" + input.name + "']") : [input];
    Array.prototype.forEach.call(group, function (other) { other.addEventListener("change", sync); });
  });
  sync();
})();
