// Loaded between require.js and embed-amd.js (nb_ipywidgets_js in _config.yml).
(function () {
  // 1. embed-amd.js fetches its FontAwesome fonts from the folder of its
  //    requirejs module "@jupyter-widgets/html-manager/dist/libembed-amd", which
  //    requirejs would place beside each page ("<page folder>/@jupyter-widgets/
  //    html-manager/dist/", where nothing is). Map that module to this folder,
  //    where the fonts are vendored.
  var here = document.currentScript.src.replace(/\/[^\/]*$/, "");
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": here } });

  // 2. The widget manager typesets widget labels with the MathJax 2 API
  //    (MathJax.Hub.Queue), but Sphinx loads MathJax 3 on pages with math, where
  //    that call throws "Cannot read properties of undefined (reading 'Queue')".
  //    Give MathJax 3 the one MathJax 2 call it needs. MathJax is deferred, so it
  //    is in place by DOMContentLoaded, before the widgets render.
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.startup) return;
    mathjax.Hub = {
      Queue: function (command) {
        var element = command[2];
        mathjax.startup.promise.then(function () {
          return mathjax.typesetPromise([element]);
        });
      },
    };
  });
})();
