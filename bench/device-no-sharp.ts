// Stands in for sharp in bench/device's bundle: the GPU machine's bench decodes no image files
// (it times the image tower on random pixels), and sharp's native libvips does not travel.
const sharp = (): never => {
  throw new Error('sharp is not carried by bench/device: this bundle decodes no image files');
};
export default sharp;
