// The sharp side of the media benchmark (shared/app/benches/media.rs runs it): every JPEG in
// DIR into the given sizes (cover crop, centred, Lanczos3, EXIF-upright, metadata stripped,
// JPEG q82 4:2:0 with optimised Huffman tables, as Herald does), all photos at once so libvips
// may use every core, ROUNDS times after one warm-up round. Prints one JSON line.
import sharp from 'sharp';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, sizesJson, roundsArg] = process.argv.slice(2);
const sizes = JSON.parse(sizesJson);
const rounds = Number(roundsArg);
const photos = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort()
  .map((f) => readFileSync(join(dir, f)));

async function one(buf) {
  let bytes = 0;
  await Promise.all(sizes.map(async ([w, h]) => {
    const out = await sharp(buf, { failOn: 'warning' })
      .rotate()
      .resize(w, h, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .jpeg({ quality: 82, chromaSubsampling: '4:2:0', optimiseCoding: true, mozjpeg: false })
      .toBuffer();
    bytes += out.length;
  }));
  return bytes;
}

await Promise.all(photos.map(one));
const start = process.hrtime.bigint();
let bytes = 0;
for (let r = 0; r < rounds; r++) {
  const got = await Promise.all(photos.map(one));
  bytes += got.reduce((a, b) => a + b, 0);
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({
  photos: photos.length * rounds,
  seconds,
  bytes,
  peak_rss_kib: process.resourceUsage().maxRSS,
  version: sharp.versions.sharp,
  vips: sharp.versions.vips,
}));
