// The registry tests' name for core's helper: the KitError a promise rejects with.
export { rejection as caught } from '../../../core/test/helpers/caught.js';
