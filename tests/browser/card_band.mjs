// The product card as the picture shows it, for the browser tests and bench/panel_to_frame.sh:
// with a solid-colour picture, whatever differs from it in the band where the card slides in
// (overlay/card.c: lower left) is the card, and magenta there is its thumbnail.
// installCardBand(page) defines window.shopcastCardBand(video) in the page before its scripts:
// it draws the presented frame, scaled to 160x90 (enough to see a 480x188 card at 720p), and
// returns { card, magenta }, pixels of each in the band.
function define() {
  const W = 160, H = 90;
  let ctx = null;
  window.shopcastCardBand = (video) => {
    if (!ctx) {
      const canvas = document.createElement('canvas');
      canvas.width = W;
      canvas.height = H;
      ctx = canvas.getContext('2d', { willReadFrequently: true });
    }
    ctx.drawImage(video, 0, 0, W, H);
    const d = ctx.getImageData(0, 0, W, H).data;
    const bg = (4 * W + W - 8) * 4; // the background: the top-right corner, never under the card
    let card = 0, magenta = 0;
    // the card's band: x 0..16% of the width, y 72..93% of the height (720p: y 496..684)
    for (let y = Math.floor(H * 0.72); y < Math.floor(H * 0.93); y++)
      for (let x = 0; x < Math.floor(W * 0.16); x++) {
        const i = (y * W + x) * 4, r = d[i], g = d[i + 1], b = d[i + 2];
        if (Math.abs(r - d[bg]) > 40 || Math.abs(g - d[bg + 1]) > 40 || Math.abs(b - d[bg + 2]) > 40) card++;
        if (r > 180 && g < 90 && b > 180) magenta++;
      }
    return { card, magenta };
  };
}

export function installCardBand(page) {
  return page.addInitScript(define);
}
