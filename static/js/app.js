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

  // Links with data-dialog open that dialog instead of navigating to their fallback page.
  document.addEventListener("click", function (e) {
    var opener = e.target.closest("[data-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.dialog);
      if (dialog && dialog.showModal) {
        e.preventDefault();
        dialog.showModal();
        var field = dialog.querySelector("input:not([type=hidden])");
        if (field) field.focus();
      }
      return;
    }
    var closer = e.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });
})();
