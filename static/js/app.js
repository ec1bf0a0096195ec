// Small progressive enhancements. Every page works without this file.
(function () {
  // Show times in the viewer's own zone; the UTC time stays in the title.
  function localiseTimes(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = el.textContent.trim();
      el.textContent = d.toLocaleString();
      el.dataset.local = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localiseTimes(document); });
  document.addEventListener("htmx:afterSettle", function (e) { localiseTimes(e.target); });
})();
