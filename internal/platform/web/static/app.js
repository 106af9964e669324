// Progressive enhancement only: every form works without this file.
// Counts down elements marked data-countdown (seconds) and enables the
// button named by data-enables when the count reaches zero.
document.addEventListener("DOMContentLoaded", function () {
  // The element may hold a [data-seconds] span to update; at zero its text
  // becomes data-done. data-enables lists button ids, space separated.
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var left = parseInt(el.getAttribute("data-countdown"), 10);
    var targets = (el.getAttribute("data-enables") || "").split(/\s+/)
      .map(function (id) { return id && document.getElementById(id); })
      .filter(Boolean);
    var seconds = el.querySelector("[data-seconds]");
    var tick = function () {
      if (left <= 0) {
        el.textContent = el.getAttribute("data-done") || "You can request a new code now.";
        targets.forEach(function (t) { t.disabled = false; t.removeAttribute("aria-describedby"); });
        return;
      }
      if (seconds) seconds.textContent = left;
      else el.textContent = "You can request a new code in " + left + " s.";
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });
  // Copy buttons (hidden without this file): data-copy names the element
  // whose lines are copied; the status element after it says it worked.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var src = document.getElementById(b.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      var lines = Array.prototype.map.call(src.querySelectorAll("li"), function (li) { return li.textContent.trim(); });
      var status = document.querySelector("[data-copy-status]");
      navigator.clipboard.writeText(lines.join("\n") + "\n").then(function () {
        if (status) status.textContent = b.getAttribute("data-copied") || "Copied.";
      }, function () {
        if (status) status.textContent = "Could not copy: select the codes and copy them, or download them.";
      });
    });
  });
});
