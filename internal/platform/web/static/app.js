// Progressive enhancement only: every form works without this file.
// Counts down elements marked data-countdown (seconds) and enables the
// button named by data-enables when the count reaches zero.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var left = parseInt(el.getAttribute("data-countdown"), 10);
    var target = document.getElementById(el.getAttribute("data-enables") || "");
    var tick = function () {
      if (left <= 0) {
        el.textContent = "You can request a new code now.";
        if (target) target.disabled = false;
        return;
      }
      el.textContent = "You can request a new code in " + left + " s.";
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
});
