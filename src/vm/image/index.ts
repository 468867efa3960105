/** The guest image: recipe, cache location, and ensureImage (build or reuse). */
export { ensureImage, readCachedImage, type EnsureImageOptions, type GuestImage } from './ensureImage.js';
export { resolveCacheDir, imagePaths, IMAGE_FILES, type ImagePaths } from './cacheDir.js';
export { imageRecipe, RECIPE_VERSION, type ImageRecipe, type RecipeOptions } from './recipe.js';
export { hashImageInputs } from './imageHash.js';
export { loadGuestFiles, GUEST_DIR } from './guestFiles.js';
export type { ImageManifest } from './manifest.js';
