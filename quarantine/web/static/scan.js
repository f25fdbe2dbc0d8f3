/* Live QR scanning where the browser offers BarcodeDetector; the page works without it.
 * A code read from the camera is sent through the page's own text form (POST /scan/text),
 * so the server verifies it exactly as an uploaded photo or a typed text. */
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !("BarcodeDetector" in window) || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var video = document.getElementById("live-video");
  var start = document.getElementById("live-start");
  var stop = document.getElementById("live-stop");
  var status = document.getElementById("live-status");
  var form = document.getElementById("text-form");
  var field = document.getElementById("text");
  var stream = null;
  var timer = 0;
  var detector = null;

  function halt() {
    if (timer) { clearTimeout(timer); timer = 0; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.srcObject = null;
    start.hidden = false;
    stop.hidden = true;
  }

  function tick() {
    detector.detect(video).then(function (codes) {
      for (var i = 0; i < codes.length; i++) {
        var text = codes[i].rawValue || "";
        if (text) {
          halt();
          field.value = text;
          form.submit();
          return;
        }
      }
      timer = setTimeout(tick, 200);
    }, function () { timer = setTimeout(tick, 400); });
  }

  BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") < 0) { return; }
    detector = new BarcodeDetector({ formats: ["qr_code"] });
    live.hidden = false;
    start.addEventListener("click", function () {
      status.textContent = "";
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          return video.play();
        })
        .then(function () { start.hidden = true; stop.hidden = false; tick(); })
        .catch(function () { halt(); status.textContent = live.getAttribute("data-denied"); });
    });
    stop.addEventListener("click", halt);
    window.addEventListener("pagehide", halt);
  }, function () { /* no formats: keep the photo upload only */ });
}());
