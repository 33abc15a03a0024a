// Chat-met-je-CLB: a centre's chatbox on the centre's own website. The centre puts
//   <script src="https://<server>/c/<centre>/embed.js" async></script>
// where the box should appear; this puts the box in a frame right after that script tag.
// The frame is shown only on the websites the centre registered (frame-ancestors).
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.parentNode) return;
  var origin = new URL(script.src, document.baseURI).origin;
  var frame = document.createElement('iframe');
  frame.src = origin + '/c/{{desk}}';
  frame.title = {{title}};
  frame.setAttribute('data-clbchat-box', '{{desk}}');
  frame.style.width = '100%';
  frame.style.maxWidth = '520px';
  frame.style.height = '720px';
  frame.style.border = '0';
  frame.setAttribute('allow', 'autoplay');
  script.parentNode.insertBefore(frame, script.nextSibling);
})();
