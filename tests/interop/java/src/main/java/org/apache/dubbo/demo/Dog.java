package org.apache.dubbo.demo;

import java.util.Objects;

/** A subclass with fields of its own: a primitive, a string and an enum. */
public class Dog extends Animal {
    private static final long serialVersionUID = 1L;

    private String breed;
    private Color color;
    private boolean good;

    public Dog() {}

    public Dog(String name, Integer legs, String breed, Color color, boolean good) {
        super(name, legs);
        this.breed = breed;
        this.color = color;
        this.good = good;
    }

    @Override
    public boolean equals(Object o) {
        return super.equals(o) && Objects.equals(breed, ((Dog) o).breed) && color == ((Dog) o).color
                && good == ((Dog) o).good;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), breed, color, good);
    }

    @Override
    public String toString() {
        return "Dog{name=" + getName() + ", legs=" + getLegs() + ", breed=" + breed + ", color=" + color
                + ", good=" + good + "}";
    }
}
