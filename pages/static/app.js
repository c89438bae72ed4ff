// Small enhancements; every page works without this file.
(function () {
  "use strict";

  function csrf() {
    var field = document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  // 提交需求: the classifier's suggestion of the service, shown as the resident types.
  document.querySelectorAll("textarea[data-classify]").forEach(function (area) {
    var out = document.getElementById(area.getAttribute("data-classify"));
    if (!out) return;
    var timer = null, last = "";
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = area.value.trim();
        if (text.length < 4 || text === last) return;
        last = text;
        fetch("/api/v1/classify", {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
          body: JSON.stringify({text: text})
        }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
          if (!body || text !== area.value.trim()) return;
          out.textContent = body.needs_triage
            ? "系统暂时判断不了属于哪类服务，提交后由工作人员分类。"
            : "系统判断：这是“" + body.label_zh + "”，提交后会优先为您匹配这类服务。";
          out.hidden = false;
        }).catch(function () { /* offline or limited: the form still works */ });
      }, 600);
    });
  });

  // A long action (batch matching): a progress bar while the server works, the button pressed once.
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var bar = document.getElementById(form.getAttribute("data-progress"));
      if (bar) bar.hidden = false;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });

  // Move focus to the error summary so a screen reader hears it first.
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
