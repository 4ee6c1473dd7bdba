package org.apache.dubbo.demo;

import java.io.Serializable;
import java.util.Objects;

/** The base class of the type matrix's POJOs (its subclass is {@link Dog}). */
public class Animal implements Serializable {
    private static final long serialVersionUID = 1L;

    private String name;
    private Integer legs;

    public Animal() {}

    public Animal(String name, Integer legs) {
        this.name = name;
        this.legs = legs;
    }

    public String getName() {
        return name;
    }

    public Integer getLegs() {
        return legs;
    }

    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && Objects.equals(name, ((Animal) o).name)
                && Objects.equals(legs, ((Animal) o).legs);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, legs);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "{name=" + name + ", legs=" + legs + "}";
    }
}
