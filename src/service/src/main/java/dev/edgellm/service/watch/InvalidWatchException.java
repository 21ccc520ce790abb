package dev.edgellm.service.watch;

/** A watch definition that cannot run, naming the field at fault ({@code topics[0]}, {@code extract.temp}, ...). */
public final class InvalidWatchException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String field;

    public InvalidWatchException(String field, String message) {
        super(field + ": " + message, null, false, false);
        this.field = field;
    }

    /** The field at fault, as written in the API's JSON ({@code publish_to}, {@code window.time}, ...). */
    public String field() {
        return field;
    }

    /** The message without the field in front. */
    public String reason() {
        String m = getMessage();
        return m.substring(field.length() + 2);
    }
}
