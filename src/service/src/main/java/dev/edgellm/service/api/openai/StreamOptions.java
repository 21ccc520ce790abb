package dev.edgellm.service.api.openai;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.quarkus.runtime.annotations.RegisterForReflection;

/** {@code stream_options}: {@code include_usage} adds a last chunk with the token counts. */
@RegisterForReflection
@JsonIgnoreProperties(ignoreUnknown = true)
public record StreamOptions(@JsonProperty("include_usage") Boolean includeUsage) {}
