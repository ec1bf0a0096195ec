// Small progressive enhancements. Every page works without this file.
(function () {
  // Show times in the viewer's own zone; the UTC time stays in the title.
  function localiseTimes(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = el.textContent.trim();
      el.textContent = "timeOnly" in el.dataset
        ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
        : d.toLocaleString();
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

  // The text a copy button copies: a code viewer's lines, a list of headers as
  // "name: value" lines, a field's value, or an element's text.
  function copyText(source) {
    var lines = source.querySelectorAll("ol.code > li");
    if (lines.length) return Array.prototype.map.call(lines, function (li) { return li.textContent; }).join("\n");
    if (source.tagName === "DL") {
      var out = [];
      source.querySelectorAll("dt").forEach(function (dt) {
        var dd = dt.nextElementSibling;
        out.push(dt.textContent.trim() + ": " + (dd ? dd.textContent.trim() : ""));
      });
      return out.join("\n");
    }
    return "value" in source && source.tagName !== "PRE" ? source.value : source.textContent;
  }

  // Buttons with data-copy="<id>" copy that field's value (or that element's text). They
  // are hidden in the HTML and shown here: without JavaScript the text is still there to
  // select and copy by hand.
  function showCopyButtons(root) {
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { showCopyButtons(document); });
  // Search boxes (data-search="<id>") mark the lines of that code viewer that contain the
  // text, open a folded part that holds one, and scroll to the first. Hidden without JS.
  function showSearchBoxes(root) {
    root.querySelectorAll("input[data-search][hidden]").forEach(function (box) { box.hidden = false; });
  }
  document.addEventListener("DOMContentLoaded", function () { showSearchBoxes(document); });
  document.addEventListener("htmx:afterSettle", function (e) { showSearchBoxes(e.target); });
  document.addEventListener("input", function (e) {
    var box = e.target.closest && e.target.closest("input[data-search]");
    if (!box) return;
    var viewer = document.getElementById(box.dataset.search);
    var count = document.getElementById(box.dataset.searchCount);
    if (!viewer) return;
    var needle = box.value.toLowerCase();
    var first = null, hits = 0;
    viewer.querySelectorAll("ol.code > li").forEach(function (li) {
      var hit = needle !== "" && li.textContent.toLowerCase().indexOf(needle) !== -1;
      li.classList.toggle("hit", hit);
      if (hit) { hits += 1; if (!first) first = li; }
    });
    if (first) {
      var folded = first.closest("details");
      if (folded) folded.open = true;
      first.scrollIntoView({ block: "nearest" });
    }
    if (count) count.textContent = needle === "" ? "" : hits === 1 ? "1 line" : hits + " lines";
  });

  document.addEventListener("htmx:afterSettle", function (e) { showCopyButtons(e.target); });
  document.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var text = copyText(source);
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

  // The theme toggle: dark or light, remembered in this browser; until it is used the
  // page follows the system (prefers-color-scheme). Without JavaScript it is not shown.
  function isDark() {
    var chosen = document.documentElement.dataset.theme;
    if (chosen) return chosen === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      button.setAttribute("aria-pressed", isDark() ? "true" : "false");
      button.hidden = false;
    });
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-theme-toggle]");
    if (!button) return;
    var theme = isDark() ? "light" : "dark";
    document.documentElement.dataset.theme = theme;
    try { localStorage.setItem("theme", theme); } catch (err) { /* private mode: this page only */ }
    button.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
  });

  // Ctrl+Enter (Cmd+Enter on a Mac) in a form marked data-submit-shortcut sends it.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey)) return;
    var form = e.target.closest && e.target.closest("form[data-submit-shortcut]");
    if (!form) return;
    e.preventDefault();
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });

  // A region that scrolls (a wide table, a long pre) can be reached with the keyboard and
  // scrolled with the arrow keys. Checked again when the page changes size or a fold opens.
  function focusableScrollers() {
    document.querySelectorAll(".table-wrap, .chart-wrap, pre, .code-scroll").forEach(function (el) {
      if (el.hasAttribute("tabindex")) return;
      if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) {
        el.setAttribute("tabindex", "0");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", focusableScrollers);
  document.addEventListener("htmx:afterSettle", focusableScrollers);
  document.addEventListener("toggle", focusableScrollers, true);
  window.addEventListener("resize", focusableScrollers);

  // Filter boxes over long pages (data-filter="<id>"): rows and list items without the text
  // are hidden, and sections with none left. Without JavaScript the box is not shown.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-filter-box][hidden]").forEach(function (box) { box.hidden = false; });
  });
  document.addEventListener("input", function (e) {
    var box = e.target.closest && e.target.closest("input[data-filter]");
    if (!box) return;
    var root = document.getElementById(box.dataset.filter);
    if (!root) return;
    var needle = box.value.trim().toLowerCase();
    var sections = root.querySelectorAll("section");
    var shown = 0;
    sections.forEach(function (section) {
      var items = section.querySelectorAll("tbody > tr, ul > li, ol > li");
      var any = needle === "" || section.textContent.toLowerCase().indexOf(needle) !== -1;
      items.forEach(function (item) {
        var hit = needle === "" || item.textContent.toLowerCase().indexOf(needle) !== -1;
        item.hidden = !hit && needle !== "" && !headingMatches(section, needle);
      });
      section.hidden = !any;
      if (any) shown += 1;
    });
    var count = document.getElementById(box.getAttribute("aria-describedby"));
    if (count) count.textContent = needle === "" ? "" : shown === 1 ? "1 section" : shown + " sections";
  });
  function headingMatches(section, needle) {
    var heading = section.querySelector("h2");
    return heading && heading.textContent.toLowerCase().indexOf(needle) !== -1;
  }
})();
