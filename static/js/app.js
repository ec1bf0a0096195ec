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
  // Content added out of band (the log's live rows) is announced by htmx:load, element by element.
  document.addEventListener("htmx:load", function (e) { localiseTimes(e.target); });

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

  // Buttons with data-copy="<id>" copy that field's value (or that element's text). They
  // are hidden in the HTML and shown here: without JavaScript the text is still there to
  // select and copy by hand.
  function showCopyButtons(root) {
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { showCopyButtons(document); });
  document.addEventListener("htmx:afterSettle", function (e) { showCopyButtons(e.target); });
  document.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var text = "value" in source && source.tagName !== "PRE" ? source.value : source.textContent;
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    function done(ok) {
      button.textContent = ok ? "Copied" : "Select and copy it by hand";
      setTimeout(function () { button.textContent = label; }, 2000);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
      return;
    }
    // Plain http on another host: select the text and ask the browser to copy it.
    var range = document.createRange();
    range.selectNodeContents(source);
    if (source.select) source.select();
    else { window.getSelection().removeAllRanges(); window.getSelection().addRange(range); }
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    done(ok);
  });
})();
