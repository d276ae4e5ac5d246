(function () {
  var box = document.getElementById("q");
  if (!box) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-model]"));
  var count = document.getElementById("count");
  function apply() {
    var want = box.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var hit = want === "" || row.getAttribute("data-model").toLowerCase().indexOf(want) !== -1;
      row.hidden = !hit;
      if (hit) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " model(s)";
  }
  box.addEventListener("input", apply);
  apply();
})();
