package dev.flywheel.server.datasets;

/** Recognises the image formats the API accepts by their leading bytes, not by what a client claims. */
public final class ImageTypes {

    private ImageTypes() {}

    /** {@code image/png}, {@code image/jpeg}, or {@code null} when the bytes are neither. */
    public static String detect(byte[] b) {
        if (b == null || b.length < 4) {
            return null;
        }
        if ((b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            return "image/png";
        }
        if ((b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF) {
            return "image/jpeg";
        }
        return null;
    }

    /** The file extension for an asset of that media type. */
    public static String extension(String contentType) {
        return switch (contentType) {
            case "image/png" -> ".png";
            case "image/jpeg" -> ".jpg";
            case "application/json" -> ".json";
            default -> ".bin";
        };
    }
}
